"""Redaction of personal data from text bound for a provider, the check it left none, restoration.

Redacted: tenant people (directory and events), other person names (Faker's given names and
surnames of every locale, honorifics, and the capitalised words beside them), emails, phones,
IP addresses, Luhn-valid card numbers (whole), IBANs (checksum), and these national ids: US SSN,
UK National Insurance number, Spanish DNI/NIE, Italian codice fiscale (by format: a false
positive costs a placeholder, a miss costs a leak). What it cannot vouch for (see `doubt`)
stays with the local model.
"""

import re
import unicodedata
from collections.abc import Iterable

from stdnum import luhn

from services.ai.text import identifiers
from services.ai.text.names import EVERYDAY_NAMES, everyday_words, name_lists

_PLACEHOLDER = re.compile(r"\[(PERSON|EMAIL|PHONE|IP|CARD|IBAN|ID)_(\d+)\]")
_WORD = re.compile(r"[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)*")
_HONORIFICS = {
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "prof",
    "sir",
    "madam",
    "mme",
    "mlle",
    "herr",
    "frau",
    "sr",
    "sra",
    "sig",
    "dott",
}
# Left after redaction, these mean the text may still carry someone's data: it stays local.
_DIGIT_RUN = re.compile(r"(?<![\w.])\d(?:[ ./-]?\d){5,}(?![\w])")
_VERSION_OR_TIME = re.compile(r"^(?:\d+(?:\.\d+){2,}|\d{1,2}:\d{2}(?::\d{2})?)$")
_APOSTROPHES = "'’ʼ`"
_HYPHENS = "-‐‑–"
# Name particles and honorifics identify nobody on their own.
_PARTICLES = {
    "van",
    "von",
    "der",
    "den",
    "de",
    "del",
    "della",
    "da",
    "di",
    "du",
    "la",
    "le",
    "bin",
    "ibn",
    "al",
    "el",
    "mr",
    "mrs",
    "ms",
    "dr",
}

Mapping = dict[str, str]


def _canon(text: str) -> str:
    """Accent-, case-, apostrophe- and spacing-insensitive form of a name."""
    stripped = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    )
    for apostrophe in _APOSTROPHES:
        stripped = stripped.replace(apostrophe, "'")
    for hyphen in _HYPHENS:
        stripped = stripped.replace(hyphen, " ")
    return " ".join(stripped.casefold().split())


def _char_pattern(char: str) -> str:
    if char in _APOSTROPHES:
        return f"[{_APOSTROPHES}]"
    if char in _HYPHENS or char.isspace():
        return rf"[{_HYPHENS}\s]+"
    base = _canon(char)
    if base and base != char.casefold():
        return f"[{re.escape(char)}{re.escape(base)}]"
    return re.escape(char)


def _name_pattern(name: str) -> str:
    return "".join(_char_pattern(char) for char in " ".join(name.split()))


class Redactor:
    """Replaces personal data with numbered placeholders, the same placeholder for the same person
    or value."""

    def __init__(self, known_people: Iterable[tuple[str, str]] = ()):
        self._people: list[str] = []
        self._owner: dict[str, int] = {}  # canonical variant -> person index
        surfaces: dict[str, str] = {}  # canonical variant -> the spelling the pattern is built from
        for name, _email in known_people:
            name = " ".join((name or "").split())
            if not name:
                continue
            person = len(self._people)
            self._people.append(name)
            for variant in self._variants(name):
                self._owner.setdefault(_canon(variant), person)
                surfaces.setdefault(_canon(variant), variant)
        # Longest first, so "Alice Martin" wins over "Alice" at the same position.
        ordered = sorted(surfaces, key=len, reverse=True)
        alternatives = [
            f"(?-i:{_name_pattern(surfaces[c].capitalize())})"
            if c in EVERYDAY_NAMES
            else _name_pattern(surfaces[c])
            for c in ordered
        ]
        self._names = (
            re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)
            if alternatives
            else None
        )

    @staticmethod
    def _variants(name: str) -> list[str]:
        words = name.split(" ")
        variants = [name]
        if len(words) > 1:
            variants += [words[0], " ".join(words[1:])]
        variants += [w for w in words if len(_canon(w)) >= 3 and _canon(w) not in _PARTICLES]
        return [v for v in variants if _canon(v) not in _PARTICLES and len(_canon(v)) >= 2]

    def redact(self, text: str) -> tuple[str, Mapping]:
        """``(redacted text, placeholder -> original)``; numbering follows first appearance."""
        spans: list[tuple[int, int, str, str]] = []  # start, end, kind, identity

        def claim(start: int, end: int, kind: str, identity: str):
            if all(end <= s or start >= e for s, e, _, _ in spans):
                spans.append((start, end, kind, identity))

        for match in identifiers.EMAIL.finditer(text):
            claim(*match.span(), "EMAIL", match.group().casefold())
        for start, end in identifiers.ibans(text):
            claim(start, end, "IBAN", re.sub(r"\s", "", text[start:end]).upper())
        for match in identifiers.CARD.finditer(text):
            digits = re.sub(r"\D", "", match.group())
            if luhn.is_valid(digits):
                claim(*match.span(), "CARD", digits)
            elif len(digits) > 15:  # no phone is this long: left whole, so `doubt` keeps it local
                claim(*match.span(), None, "")
        for match in identifiers.NATIONAL_IDS.finditer(text):
            claim(*match.span(), "ID", re.sub(r"[\s-]", "", match.group()).upper())
        for match in identifiers.IPV6.finditer(text):
            address = identifiers.ip(match.group())
            if address is not None and address.version == 6:
                claim(*match.span(), "IP", match.group().casefold())
        for match in identifiers.IPV4.finditer(text):
            claim(*match.span(), "IP", match.group())
        for match in identifiers.PHONE.finditer(text):
            if identifiers.looks_like_phone(match.group()):
                claim(*match.span(), "PHONE", re.sub(r"\D", "", match.group()))
        if self._names is not None:
            for match in self._names.finditer(text):
                claim(*match.span(), "PERSON", str(self._owner[_canon(match.group())]))
        for start, end in _other_people(text):
            claim(start, end, "PERSON", "other:" + _canon(text[start:end]))

        placeholders: dict[tuple[str, str], str] = {}
        mapping: Mapping = {}
        counters: dict[str, int] = {}
        pieces, cursor = [], 0
        for start, end, kind, identity in sorted(spans):
            if kind is None:
                continue
            key = (kind, identity)
            if key not in placeholders:
                counters[kind] = counters.get(kind, 0) + 1
                placeholders[key] = f"[{kind}_{counters[kind]}]"
                known = kind == "PERSON" and identity.isdigit()
                original = self._people[int(identity)] if known else text[start:end]
                mapping[placeholders[key]] = original
            pieces += [text[cursor:start], placeholders[key]]
            cursor = end
        pieces.append(text[cursor:])
        return "".join(pieces), mapping

    @staticmethod
    def doubt(redacted: str) -> str | None:
        """Why redacted text may still hold personal data (then it must not leave), or None.

        Digit runs of six or more that are not a date, time or version (an account, an id of
        a country not in the list, a card that fails Luhn), and two adjacent capitalised words
        of which neither is an everyday word (a name no list knows, such as "Xochitl Quispe").
        """
        for match in _DIGIT_RUN.finditer(redacted):
            if not (identifiers.DATE.match(match.group()) or _VERSION_OR_TIME.match(match.group())):
                return "a run of digits"
        common = everyday_words()
        words = list(_WORD.finditer(redacted))
        for first, second in zip(words, words[1:]):
            if (
                redacted[first.end() : second.start()] == " "
                and _capitalised(first.group())
                and _capitalised(second.group())
                and not {first.group().casefold(), second.group().casefold()} & common
            ):
                return "a name-like pair of words"
        return None

    @staticmethod
    def restore(text: str, mapping: Mapping) -> str:
        """Puts the originals back where the provider kept the placeholders; unknown ones stay as
        they are."""
        return _PLACEHOLDER.sub(lambda match: mapping.get(match.group(), match.group()), text)


def _capitalised(word: str) -> bool:
    return len(word) >= 2 and word[0].isupper() and not word.isupper()


def _other_people(text: str):
    """Spans of names outside the directory: a known given name or surname, or a capitalised
    word after an honorific, with the adjacent capitalised words and particles around it."""
    given, surnames = name_lists()
    common = everyday_words()
    words = list(_WORD.finditer(text))

    def adjacent(left, right):
        return text[words[left].end() : words[right].start()] == " "

    def known(word):
        return any(part in given or part in surnames for part in re.split(r"['’-]", word) + [word])

    def part_of_name(index):
        word = words[index].group()
        return _capitalised(word) and word.casefold() not in common | _HONORIFICS

    index = 0
    while index < len(words):
        word = words[index].group()
        after_honorific = (
            word.casefold() in _HONORIFICS
            and index + 1 < len(words)
            and text[words[index].end() : words[index + 1].start()] in (" ", ". ")
            and _capitalised(words[index + 1].group())
        )
        anchor = index + 1 if after_honorific else index
        if after_honorific or (_capitalised(word) and known(word)):
            start = end = anchor
            while start > 0 and adjacent(start - 1, start):
                if part_of_name(start - 1):
                    start -= 1
                elif (
                    words[start - 1].group() in _PARTICLES
                    and start > 1
                    and adjacent(start - 2, start - 1)
                    and (part_of_name(start - 2) or words[start - 2].group() in _PARTICLES)
                ):
                    start -= 1
                else:
                    break
            while words[start].group() in _PARTICLES:
                start += 1
            while end + 1 < len(words) and adjacent(end, end + 1):
                following = words[end + 1].group()
                if part_of_name(end + 1) or known(following):
                    end += 1
                elif following.casefold() in _PARTICLES:
                    probe = end + 1  # over "van der", "de la" to the capitalised name after them
                    while (
                        probe + 1 < len(words)
                        and adjacent(probe, probe + 1)
                        and words[probe].group().casefold() in _PARTICLES
                    ):
                        probe += 1
                    if words[probe].group().casefold() in _PARTICLES or not _capitalised(
                        words[probe].group()
                    ):
                        break
                    end = probe
                else:
                    break
            yield words[start].start(), words[end].end()
            index = end + 1
        else:
            index += 1
