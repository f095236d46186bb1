"""Person names beyond the tenant directory: Faker's given names and surnames, not desk words."""

import functools
import importlib
import pkgutil

from faker.providers import lorem, person
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# First names that are also everyday English words: redacted alone only when capitalised
# (services.ai.text.redaction), and never taken for a name on their own from the name lists.
EVERYDAY_NAMES = frozenset(
    {
        "will",
        "may",
        "june",
        "april",
        "august",
        "mark",
        "bill",
        "grace",
        "hope",
        "joy",
        "rose",
        "summer",
        "faith",
        "art",
        "guy",
        "chase",
        "frank",
        "dean",
        "sue",
        "pat",
        "ray",
        "rich",
        "sky",
        "drew",
        "max",
        "page",
        "case",
        "hunter",
        "young",
        "king",
        "long",
        "white",
        "black",
        "green",
        "brown",
        "park",
    }
)
# Names that are also words of a service desk, a calendar or a place: these alone say nothing.
DESK_WORDS = EVERYDAY_NAMES | {
    "server",
    "mac",
    "dell",
    "edge",
    "ruby",
    "java",
    "chrome",
    "apple",
    "siri",
    "alexa",
    "cortana",
    "teams",
    "office",
    "word",
    "excel",
    "windows",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "july",
    "september",
    "october",
    "november",
    "december",
    "london",
    "paris",
    "berlin",
    "madrid",
    "rome",
    "sydney",
    "florence",
    "georgia",
    "jordan",
    "austin",
    "phoenix",
    "dallas",
    "title",
    "description",
    "comment",
    "hello",
    "hi",
    "thanks",
    "regards",
    "best",
    "kind",
    "dear",
    "please",
    "urgent",
    "laptop",
    "printer",
    "vpn",
    "wifi",
    "outlook",
    "login",
    "password",
    "error",
    "update",
    "summary",
    "ticket",
    "service",
    "desk",
    "support",
    "admin",
    "guest",
    "gray",
    "grey",
    "grant",
    "hill",
    "wood",
    "stone",
    "field",
    "lane",
    "power",
    "cook",
    "price",
    "ward",
    "bell",
    "can",
    "new",
    "north",
    "south",
    "east",
    "west",
    "van",
    "de",
    "la",
    "le",
    "du",
    "da",
    "di",
}


def _latin(word):
    return word.isalpha() and all(ord(char) < 0x250 for char in word) and len(word) >= 2


@functools.cache
def everyday_words() -> frozenset[str]:
    """Lower-case words too common to be taken for a name on their own."""
    return frozenset(ENGLISH_STOP_WORDS) | frozenset(lorem.en_US.Provider.word_list) | DESK_WORDS


@functools.cache
def name_lists() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, surnames) in Latin script from every Faker locale, everyday words removed."""
    given, surnames = set(), set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attribute, target in (
            ("first_names", given),
            ("first_names_male", given),
            ("first_names_female", given),
            ("last_names", surnames),
        ):
            values = provider.__dict__.get(attribute, ())
            if isinstance(values, (list, tuple, dict, set, frozenset)):
                target.update(v for v in values if isinstance(v, str) and _latin(v))
    common = everyday_words()
    return (
        frozenset(n for n in given if n.casefold() not in common),
        frozenset(n for n in surnames if n.casefold() not in common),
    )
