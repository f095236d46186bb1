"""What personal identifiers look like in text: emails, IP addresses, phones, cards, IBANs, ids."""

import ipaddress
import re

from stdnum import iban

EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?:/\d{{1,2}})?(?!\w|\.\d)")
IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4})(?:%[\w.]+)?(?:/\d{1,3})?(?![\w:])"
)
PHONE = re.compile(
    r"(?<![\w.+-])(?:\+[ \t]?|00|\([ \t]?)?\d(?:[ \t.\-/()]{0,2}\d){6,14}(?!\w|[.\-]\d)"
)
DATE = re.compile(r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$")
CARD = re.compile(r"(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w]|[.-]\d)")
IBAN = re.compile(r"(?<!\w)[A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}){3,8}(?!\w)")
NATIONAL_IDS = re.compile(
    r"(?<![\w-])(?:\d{3}-\d{2}-\d{4}"  # US SSN
    r"|[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]"  # UK NI number
    r"|[XYZ]?\d{7,8}-?[A-Z]"  # ES DNI / NIE
    r"|[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z])(?![\w-])",
    re.IGNORECASE,
)  # IT codice fiscale


def ibans(text: str):
    """Spans of checksum-valid IBANs; a match that swallowed a following word is shortened."""
    for match in IBAN.finditer(text):
        groups = match.group().split(" ")
        for count in range(len(groups), 0, -1):
            candidate = " ".join(groups[:count])
            if iban.is_valid(candidate):
                yield match.start(), match.start() + len(candidate)
                break


def ip(candidate: str):
    try:
        return ipaddress.ip_interface(candidate.split("%")[0]).ip
    except ValueError:
        return None


def looks_like_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if not 7 <= len(digits) <= 15 or DATE.match(candidate.strip()):
        return False
    separators = set(re.sub(r"[\d\s]", "", candidate.strip().lstrip("+")))
    groups = len(re.findall(r"\d+", candidate))
    if separators == {"."} and groups < 4 and len(digits) < 10:  # versions such as 10.0.19045
        return False
    explicit = candidate.lstrip().startswith(("+", "(", "00"))
    return explicit or groups > 1 or len(digits) >= 10
