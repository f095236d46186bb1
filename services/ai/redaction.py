"""Redaction of personal data (people, emails, phones, IP addresses) from text bound for an outside provider, and its restoration."""

import ipaddress
import re
import unicodedata
from collections.abc import Iterable

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?:/\d{{1,2}})?(?!\w|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4})(?:%[\w.]+)?(?:/\d{1,3})?(?![\w:])"
)
_PHONE = re.compile(r"(?<![\w.+-])(?:\+[ \t]?|00|\([ \t]?)?\d(?:[ \t.\-/()]{0,2}\d){6,14}(?!\w|[.\-]\d)")
_DATE = re.compile(r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$")
_PLACEHOLDER = re.compile(r"\[(PERSON|EMAIL|PHONE|IP)_(\d+)\]")
_APOSTROPHES = "'’ʼ`"
_HYPHENS = "-‐‑–"
# Name particles and honorifics identify nobody on their own.
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "da", "di", "du", "la", "le", "bin", "ibn", "al", "el",
              "mr", "mrs", "ms", "dr"}
# First names that are also everyday English words are redacted alone only when capitalised.
_COMMON_WORDS = {"will", "may", "june", "april", "august", "mark", "bill", "grace", "hope", "joy", "rose", "summer",
                 "faith", "art", "guy", "chase", "frank", "dean", "sue", "pat", "ray", "rich", "sky", "drew", "max",
                 "page", "case", "hunter", "young", "king", "long", "white", "black", "green", "brown", "park"}

Mapping = dict[str, str]


def _canon(text: str) -> str:
    """Accent-, case-, apostrophe- and spacing-insensitive form of a name."""
    stripped = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
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
    """Replaces personal data with numbered placeholders, the same placeholder for the same person or value."""

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
            f"(?-i:{_name_pattern(surfaces[c].capitalize())})" if c in _COMMON_WORDS else _name_pattern(surfaces[c])
            for c in ordered
        ]
        self._names = re.compile(
            r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE
        ) if alternatives else None

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

        for match in _EMAIL.finditer(text):
            claim(*match.span(), "EMAIL", match.group().casefold())
        for match in _IPV6.finditer(text):
            address = _ip(match.group())
            if address is not None and address.version == 6:
                claim(*match.span(), "IP", match.group().casefold())
        for match in _IPV4.finditer(text):
            claim(*match.span(), "IP", match.group())
        for match in _PHONE.finditer(text):
            if _looks_like_phone(match.group()):
                claim(*match.span(), "PHONE", re.sub(r"\D", "", match.group()))
        if self._names is not None:
            for match in self._names.finditer(text):
                claim(*match.span(), "PERSON", str(self._owner[_canon(match.group())]))

        placeholders: dict[tuple[str, str], str] = {}
        mapping: Mapping = {}
        counters: dict[str, int] = {}
        pieces, cursor = [], 0
        for start, end, kind, identity in sorted(spans):
            key = (kind, identity)
            if key not in placeholders:
                counters[kind] = counters.get(kind, 0) + 1
                placeholders[key] = f"[{kind}_{counters[kind]}]"
                original = self._people[int(identity)] if kind == "PERSON" else text[start:end]
                mapping[placeholders[key]] = original
            pieces += [text[cursor:start], placeholders[key]]
            cursor = end
        pieces.append(text[cursor:])
        return "".join(pieces), mapping

    @staticmethod
    def restore(text: str, mapping: Mapping) -> str:
        """Puts the originals back where the provider kept the placeholders; unknown ones stay as they are."""
        return _PLACEHOLDER.sub(lambda match: mapping.get(match.group(), match.group()), text)


def _ip(candidate: str):
    try:
        return ipaddress.ip_interface(candidate.split("%")[0]).ip
    except ValueError:
        return None


def _looks_like_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if not 7 <= len(digits) <= 15 or _DATE.match(candidate.strip()):
        return False
    separators = set(re.sub(r"[\d\s]", "", candidate.strip().lstrip("+")))
    groups = len(re.findall(r"\d+", candidate))
    if separators == {"."} and groups < 4 and len(digits) < 10:  # versions such as 10.0.19045
        return False
    explicit = candidate.lstrip().startswith(("+", "(", "00"))
    return explicit or groups > 1 or len(digits) >= 10
