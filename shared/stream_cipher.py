"""Streamed, chunked AES-256-GCM for files: a file of any size is sealed and opened chunk by
chunk, never whole in memory.

Layout of a sealed stream: a header (format byte, 16 random salt bytes), then chunks of
CHUNK_BYTES plaintext each (the last one shorter, possibly empty), each followed by its
16-byte GCM tag.

- The file key is HKDF-SHA256 of the subject's data key, the header's salt and the context
  (tenant, subject, blob id): every stream has a key of its own, so the nonce can simply be
  the chunk's index without ever repeating under one key; a shredded subject key leaves
  every file key underivable.
- Each chunk's associated data binds the context, the chunk's index and whether it is the
  last one: chunks reordered, dropped, moved to another blob, or a stream cut short at a
  chunk boundary all fail authentication (`CipherError`), never yield plaintext silently.
- Sealing holds one chunk back until it knows whether more follows, so the last chunk is
  always flagged; opening likewise holds one sealed chunk back.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.crypto import KEY_BYTES, CipherError, CryptoError, _context

CHUNK_BYTES = 64 * 1024
TAG_BYTES = 16
SALT_BYTES = 16
_FORMAT = b"\x01"
HEADER_BYTES = 1 + SALT_BYTES
SEALED_CHUNK_BYTES = CHUNK_BYTES + TAG_BYTES


def sealed_size(plain_size: int) -> int:
    """The size of the sealed stream of `plain_size` plaintext bytes."""
    chunks = max(1, -(-plain_size // CHUNK_BYTES))
    return HEADER_BYTES + plain_size + chunks * TAG_BYTES


def _file_key(key: bytes, salt: bytes, context: tuple[str, ...]) -> AESGCM:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise CryptoError(f"an AES-256 key must be exactly {KEY_BYTES} bytes")
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=salt,
        info=_context("dzdesk/stream/v1", *context),
    ).derive(key)
    return AESGCM(derived)


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _aad(context: tuple[str, ...], index: int, final: bool) -> bytes:
    return _context("dzdesk/stream-chunk/v1", *context, str(index), "final" if final else "more")


class StreamSealer:
    """Seal a stream piece by piece: `header()` once, `update(data)` for each piece read,
    `finalize()` at the end; each returns the sealed bytes ready to store (possibly none)."""

    def __init__(self, key: bytes, context: tuple[str, ...]) -> None:
        self._context = tuple(str(part) for part in context)
        self._salt = os.urandom(SALT_BYTES)
        self._aead = _file_key(key, self._salt, self._context)
        self._pending = bytearray()
        self._index = 0
        self._done = False

    def header(self) -> bytes:
        return _FORMAT + self._salt

    def _seal(self, plaintext: bytes, final: bool) -> bytes:
        sealed = self._aead.encrypt(
            _nonce(self._index), plaintext, _aad(self._context, self._index, final)
        )
        self._index += 1
        return sealed

    def update(self, data: bytes) -> bytes:
        if self._done:
            raise CryptoError("the stream is already finalized")
        self._pending += data
        out = []
        # a full chunk is sealed only once a byte after it is known: the last one is flagged
        while len(self._pending) > CHUNK_BYTES:
            out.append(self._seal(bytes(self._pending[:CHUNK_BYTES]), final=False))
            del self._pending[:CHUNK_BYTES]
        return b"".join(out)

    def finalize(self) -> bytes:
        if self._done:
            raise CryptoError("the stream is already finalized")
        self._done = True
        last, self._pending = bytes(self._pending), bytearray()
        return self._seal(last, final=True)


class StreamOpener:
    """Open a sealed stream piece by piece: `update(data)` with the sealed bytes as they come
    (the header first), `finalize()` at the end; `CipherError` on any tampering, reordering
    or truncation."""

    def __init__(self, key: bytes, context: tuple[str, ...]) -> None:
        self._key = key
        self._context = tuple(str(part) for part in context)
        self._aead: AESGCM | None = None
        self._pending = bytearray()
        self._index = 0
        self._done = False

    def _open(self, sealed: bytes, final: bool) -> bytes:
        try:
            plaintext = self._aead.decrypt(
                _nonce(self._index), sealed, _aad(self._context, self._index, final)
            )
        except InvalidTag as exc:
            raise CipherError(
                f"chunk {self._index} failed authentication (tampered, reordered, truncated, "
                "moved from another blob, or the wrong key)"
            ) from exc
        self._index += 1
        return plaintext

    def update(self, data: bytes) -> bytes:
        if self._done:
            raise CryptoError("the stream is already finalized")
        self._pending += data
        if self._aead is None:
            if len(self._pending) < HEADER_BYTES:
                return b""
            if self._pending[:1] != _FORMAT:
                raise CipherError("the sealed stream is of an unknown format")
            self._aead = _file_key(self._key, bytes(self._pending[1:HEADER_BYTES]), self._context)
            del self._pending[:HEADER_BYTES]
        out = []
        while len(self._pending) > SEALED_CHUNK_BYTES:
            out.append(self._open(bytes(self._pending[:SEALED_CHUNK_BYTES]), final=False))
            del self._pending[:SEALED_CHUNK_BYTES]
        return b"".join(out)

    def finalize(self) -> bytes:
        if self._done:
            raise CryptoError("the stream is already finalized")
        self._done = True
        if self._aead is None or len(self._pending) < TAG_BYTES:
            raise CipherError("the sealed stream is truncated")
        last, self._pending = bytes(self._pending), bytearray()
        return self._open(last, final=True)


def seal_stream(key: bytes, context: tuple[str, ...], pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The sealed stream of `pieces` of plaintext, as it is produced."""
    sealer = StreamSealer(key, context)
    yield sealer.header()
    for piece in pieces:
        sealed = sealer.update(piece)
        if sealed:
            yield sealed
    yield sealer.finalize()


def open_stream(key: bytes, context: tuple[str, ...], pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The plaintext of a sealed stream's `pieces`, as it is authenticated; a tampered,
    reordered or truncated stream raises CipherError where it is found (a consumer that must
    not act on unauthenticated data reads to the end first)."""
    opener = StreamOpener(key, context)
    for piece in pieces:
        plain = opener.update(piece)
        if plain:
            yield plain
    yield opener.finalize()
