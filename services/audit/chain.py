"""The per-tenant audit hash chain: canonical JSON, entry hashes, appending entries."""

import json
import re
from hashlib import sha256
from typing import NamedTuple

import rfc8785

GENESIS_HASH = "0" * 64
GENESIS_DIGEST = bytes(32)
_SAFE_INT = 2**53 - 1
# The C encoder of the standard library writes exactly the RFC 8785 form for strings, integers,
# booleans, null, arrays and objects whose keys sort the same by code point as by UTF-16 code
# unit. It is several times faster than rfc8785's pure-Python writer, which stays the authority
# for everything else (floats, huge integers, unusual keys, invalid input).
_FAST = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))
# Code point order and UTF-16 order differ only between U+E000..U+FFFF and astral characters.
_UTF16_ORDER_MAY_DIFFER = re.compile("[\ue000-\U0010ffff]")


def _plain(value):
    """True when `value` holds only types whose fast encoding equals RFC 8785's."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_SAFE_INT <= value <= _SAFE_INT
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:
            if not _plain(item):
                return False
        return True
    return False


def canonical_json(envelope):
    """RFC 8785 (JCS) bytes of a JSON-compatible value; raises `rfc8785.CanonicalizationError`."""
    if _plain(envelope):
        text = _FAST.encode(envelope)
        if text.isascii():
            return text.encode("ascii")
        if not _UTF16_ORDER_MAY_DIFFER.search(text):
            try:
                return text.encode("utf-8")
            except UnicodeEncodeError:
                pass  # lone surrogates: let rfc8785 raise its own error
    return rfc8785.dumps(envelope)


def _digest_after(prev_digest, envelope):
    """The next digest; `envelope` is a mapping or its canonical bytes as stored."""
    # Two updates rather than concatenating: the canonical bytes are never copied.
    hasher = sha256(prev_digest)
    hasher.update(envelope if type(envelope) is bytes else canonical_json(envelope))
    return hasher.digest()


def entry_hash(prev_hash_hex, envelope):
    """Hex SHA-256 over the previous entry's 32 hash bytes followed by the canonical envelope."""
    return _digest_after(bytes.fromhex(prev_hash_hex), envelope).hex()


class Entry(NamedTuple):
    seq: int
    prev_hash: str
    hash: str
    envelope: dict


class ChainBuilder:
    """Extends a tenant's chain from its head; `ChainBuilder(0, GENESIS_HASH)` starts a new one."""

    def __init__(self, head_seq, head_hash):
        self.head_seq = head_seq
        self.head_hash = head_hash
        self._head_digest = bytes.fromhex(head_hash)

    def append(self, envelope):
        """The next entry; the head moves to it (drop the builder if the entry is not stored)."""
        digest = _digest_after(self._head_digest, envelope)
        entry = Entry(self.head_seq + 1, self.head_hash, digest.hex(), envelope)
        self.head_seq, self.head_hash, self._head_digest = entry.seq, entry.hash, digest
        return entry

    def append_canonical(self, canonical):
        """(seq, prev digest, digest) of the next entry from the envelope's canonical bytes."""
        prev = self._head_digest
        digest = _digest_after(prev, canonical)
        self.head_seq, self.head_hash, self._head_digest = self.head_seq + 1, digest.hex(), digest
        return self.head_seq, prev, digest
