"""What an uploaded file is: its type from its own bytes (never the client's word), whether
that type is refused (executables and archives), and the pluggable scanner's verdict.

A scanner is any class with `start()` returning a session that is fed the file's plaintext
chunk by chunk (`feed`) and then gives its `verdict()`: clean, infected or not_scanned. The
setting TICKETING_ATTACHMENT_SCANNER names it as "module:Class"; the default, NotScanned,
marks every file not_scanned. EicarScanner recognizes the industry's EICAR test file, so a
deployment (and the tests) can check that infected files are refused end to end; a real
antivirus (ClamAV's clamd, a cloud scanning API) plugs in the same way.
"""

import importlib
from typing import Protocol

import filetype

CLEAN, INFECTED, NOT_SCANNED = "clean", "infected", "not_scanned"
# filetype reads at most this much of a file's start
SNIFF_BYTES = 8192
OCTET_STREAM = "application/octet-stream"

EXECUTABLES = frozenset(
    {
        "application/x-msdownload",
        "application/x-executable",
        "application/x-mach-binary",
        "application/wasm",
        "application/x-google-chrome-extension",
        "application/x-shockwave-flash",
        "text/x-shellscript",
    }
)
ARCHIVES = frozenset(
    {
        "application/zip",
        "application/x-tar",
        "application/x-rar-compressed",
        "application/gzip",
        "application/x-bzip2",
        "application/x-7z-compressed",
        "application/vnd.ms-cab-compressed",
        "application/x-xz",
        "application/x-deb",
        "application/x-unix-archive",
        "application/x-compress",
        "application/x-lzop",
        "application/x-lzip",
        "application/x-lz4",
        "application/x-brotli",
        "application/x-rpm",
        "application/zstd",
    }
)
RISKY = EXECUTABLES | ARCHIVES
_MACH_O = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe")


def content_type(head):
    """The media type of a file from its first bytes (at least SNIFF_BYTES of them, or all)."""
    if head[:4] in _MACH_O:
        return "application/x-mach-binary"
    if head[:2] == b"#!":
        return "text/x-shellscript"  # a script the system runs by its first line
    kind = filetype.guess(head) if head else None
    if kind is not None:
        return kind.mime
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # the cut at SNIFF_BYTES may split a character: only an error before the end counts
        if exc.start < len(head) - 3:
            return OCTET_STREAM
    return "text/plain"


def is_risky(media_type):
    return media_type in RISKY


class ScanSession(Protocol):
    def feed(self, chunk: bytes) -> None: ...

    def verdict(self) -> str: ...


class Scanner(Protocol):
    def start(self) -> ScanSession: ...


class NotScanned:
    """The default: no scanner configured, every file not_scanned."""

    def start(self):
        return self

    def feed(self, chunk):
        pass

    def verdict(self):
        return NOT_SCANNED


# the EICAR test file's signature, spelled in two halves so that no scanner flags this source
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD" + rb"-ANTIVIRUS-TEST-FILE!$H+H*"


class EicarScanner:
    """Infected when the file holds the EICAR test signature anywhere (across chunks too);
    clean otherwise."""

    def start(self):
        return _EicarSession()


class _EicarSession:
    def __init__(self):
        self.tail, self.found = b"", False

    def feed(self, chunk):
        if not self.found:
            window = self.tail + chunk
            self.found = EICAR in window
            self.tail = window[-(len(EICAR) - 1) :]

    def verdict(self):
        return INFECTED if self.found else CLEAN


def load_scanner(spec):
    """The scanner named "module:Class" (TICKETING_ATTACHMENT_SCANNER)."""
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)()
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"TICKETING_ATTACHMENT_SCANNER names no scanner: {spec}") from exc
