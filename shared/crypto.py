"""Per-subject encryption of personal data: master-key wrapping, subject key caching,
field sealing."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ERASED = "[erased]"
KEY_BYTES = 32
NONCE_BYTES = 12
# A leading format byte lets a future scheme (other AEAD, key rotation) coexist with old blobs.
_BLOB_FORMAT = b"\x01"


class CryptoError(Exception):
    """Base error of the personal-data crypto mechanism."""


class MasterKeyError(CryptoError):
    """The master key is missing, malformed or of the wrong size."""


class CipherError(CryptoError):
    """Ciphertext failed authentication or is malformed (tampered, moved, or wrong key)."""


def new_data_key() -> bytes:
    return os.urandom(KEY_BYTES)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise CipherError(f"{what} is not valid base64") from exc


def _context(*parts: str) -> bytes:
    # JSON of a list is an unambiguous encoding: ("a:b", "c") and ("a", "b:c") differ.
    return json.dumps(list(parts), separators=(",", ":"), ensure_ascii=False).encode()


def _aead(key: bytes) -> AESGCM:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise CryptoError(f"an AES-256 key must be exactly {KEY_BYTES} bytes")
    return AESGCM(key)


def encrypt_bytes(key: bytes, plaintext: bytes, associated_data: bytes = b"") -> bytes:
    """AES-256-GCM; returns format byte + nonce + ciphertext (with tag)."""
    aead = _aead(key)
    nonce = os.urandom(NONCE_BYTES)
    return _BLOB_FORMAT + nonce + aead.encrypt(nonce, plaintext, associated_data)


def decrypt_bytes(key: bytes, blob: bytes, associated_data: bytes = b"") -> bytes:
    aead = _aead(key)
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != _BLOB_FORMAT:
        raise CipherError("encrypted blob is truncated or of an unknown format")
    nonce, ciphertext = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return aead.decrypt(nonce, ciphertext, associated_data)
    except InvalidTag as exc:
        raise CipherError(
            "encrypted blob failed authentication (tampered, moved or wrong key)"
        ) from exc


class MasterKey:
    """Wraps subject data keys; (tenant, subject) is bound in, so a wrapped key cannot be moved."""

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_BYTES:
            raise MasterKeyError(f"the master key must be exactly {KEY_BYTES} bytes")
        self._aead_key = key
        self.key_id = hashlib.sha256(b"dzdesk/master-key-id\x00" + key).digest()[:8].hex()

    @classmethod
    def from_env_value(cls, value: str | None) -> MasterKey:
        hint = (
            f"DZDESK_MASTER_KEY must be the base64 of {KEY_BYTES} random bytes"
            " (e.g. `openssl rand -base64 32`)"
        )
        if not value or not value.strip():
            raise MasterKeyError(f"{hint}; it is not set")
        try:
            key = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MasterKeyError(f"{hint}; it is not valid base64") from exc
        if len(key) != KEY_BYTES:
            raise MasterKeyError(f"{hint}; it decodes to {len(key)} bytes")
        return cls(key)

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(new_data_key())

    def wrap(self, data_key: bytes, tenant_id: str, subject_id: str) -> bytes:
        if not isinstance(data_key, bytes) or len(data_key) != KEY_BYTES:
            raise CryptoError(f"a data key must be exactly {KEY_BYTES} bytes")
        return encrypt_bytes(
            self._aead_key, data_key, _context("dzdesk/wrap/v1", str(tenant_id), str(subject_id))
        )

    def unwrap(self, wrapped: bytes, tenant_id: str, subject_id: str) -> bytes:
        try:
            return decrypt_bytes(
                self._aead_key, wrapped, _context("dzdesk/wrap/v1", str(tenant_id), str(subject_id))
            )
        except CipherError as exc:
            raise CipherError(
                f"cannot unwrap the data key of subject {subject_id} in tenant {tenant_id}: "
                f"wrong master key (this one is {self.key_id}) or the wrapped key belongs elsewhere"
            ) from exc

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"


class MasterKeyRing:
    """Versioned master keys: the current one wraps new keys, every listed one unwraps its own.

    Configured as DZDESK_MASTER_KEYS="2:<base64>,1:<base64>" (the first is current), or as a
    single DZDESK_MASTER_KEY, which is then version 1. A wrapped key is stored with the version
    that wrapped it; rotation re-wraps under the current one, after which an old version can be
    dropped from the list, and with it every backup's copy of what it wrapped.
    """

    def __init__(self, keys: list[tuple[int, MasterKey]]) -> None:
        if not keys:
            raise MasterKeyError("at least one master key is needed")
        versions = [version for version, _ in keys]
        if len(set(versions)) != len(versions) or any(v < 1 for v in versions):
            raise MasterKeyError("master key versions must be distinct whole numbers from 1")
        if len({key.key_id for _, key in keys}) != len(keys):
            raise MasterKeyError("the same master key is listed under two versions")
        self._keys = dict(keys)
        self.current_version = versions[0]
        self.current = self._keys[self.current_version]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MasterKeyRing:
        listed = str(config.get("DZDESK_MASTER_KEYS") or "").strip()
        if not listed:
            return cls([(1, MasterKey.from_env_value(config.get("DZDESK_MASTER_KEY")))])
        keys = []
        for entry in listed.split(","):
            version, sep, value = entry.strip().partition(":")
            if not sep or not version.strip().isdecimal():
                raise MasterKeyError(
                    'DZDESK_MASTER_KEYS must read "<version>:<base64>,..." (current first)'
                )
            try:
                keys.append((int(version), MasterKey.from_env_value(value)))
            except MasterKeyError as exc:
                raise MasterKeyError(
                    f"DZDESK_MASTER_KEYS version {version.strip()}: {exc}"
                ) from exc
        return cls(keys)

    @property
    def versions(self) -> list[int]:
        return list(self._keys)

    def key(self, version: int) -> MasterKey:
        try:
            return self._keys[version]
        except KeyError:
            raise MasterKeyError(
                f"master key version {version} is not configured (DZDESK_MASTER_KEYS "
                f"lists {', '.join(map(str, self._keys))})"
            ) from None

    def wrap(self, data_key: bytes, tenant_id: str, subject_id: str) -> tuple[int, bytes]:
        """(version, wrapped key) under the current master key."""
        return self.current_version, self.current.wrap(data_key, tenant_id, subject_id)

    def unwrap(
        self,
        wrapped: bytes,
        tenant_id: str,
        subject_id: str,
        version: int | None = None,
        key_id: str | None = None,
    ) -> bytes:
        """The data key; `version` None is a key wrapped before versions: found by key
        id, or tried."""
        if version is not None:
            return self.key(version).unwrap(wrapped, tenant_id, subject_id)
        candidates = [k for k in self._keys.values() if key_id in (None, k.key_id)]
        for candidate in candidates:
            try:
                return candidate.unwrap(wrapped, tenant_id, subject_id)
            except CipherError:
                continue
        raise CipherError(
            f"no configured master key unwraps the data key of subject {subject_id} "
            f"in tenant {tenant_id} (it was wrapped by {key_id or 'an unknown key'})"
        )

    def __repr__(self) -> str:
        return f"MasterKeyRing(current={self.current_version}, versions={self.versions})"


class KeyProvider(Protocol):
    def get_key(self, tenant_id: str, subject_id: str, create: bool = False) -> bytes | None:
        """The subject's data key; None when shredded, or when absent and create is False.

        A shredded subject never gets a new key, even with create=True.
        """


class KeyCache:
    """A KeyProvider remembering keys for `ttl_seconds`; `drop` on `privacy.subject_key_shredded`.

    While the provider cannot be reached (it raises ConnectionError), a key it gave within
    `ttl_seconds + max_stale_seconds` still serves, so writes for known subjects go on during
    a broker outage; a key it never gave (a new subject) cannot, and the error propagates.
    `expire_all` makes every entry ask again at its next use (the broker is back: a shred
    broadcast may have been missed meanwhile).
    """

    def __init__(
        self,
        provider: KeyProvider,
        ttl_seconds: float = 60.0,
        negative_ttl_seconds: float = 5.0,
        max_entries: int = 10_000,
        max_stale_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._provider = provider
        self._ttl = ttl_seconds
        self._negative_ttl = negative_ttl_seconds
        self._max_entries = max_entries
        self._max_stale = max_stale_seconds
        self._clock = clock
        # slot -> (key or None, fresh until, usable while the provider is away until)
        self._entries: dict[tuple[str, str], tuple[bytes | None, float, float]] = {}

    def get_key(self, tenant_id: str, subject_id: str, create: bool = False) -> bytes | None:
        slot = (str(tenant_id), str(subject_id))
        now = self._clock()
        cached = self._entries.get(slot)
        # A cached miss may be "never existed"; only the provider may decide to create.
        usable = cached is not None and (cached[0] is not None or not create)
        if usable and cached[1] > now:
            return cached[0]
        try:
            key = self._provider.get_key(tenant_id, subject_id, create=create)
        except ConnectionError:
            if usable and cached[2] > now:
                return cached[0]
            raise
        self._remember(slot, key, now)
        return key

    def drop(self, tenant_id: str, subject_id: str) -> None:
        self._entries.pop((str(tenant_id), str(subject_id)), None)

    def clear(self) -> None:
        self._entries.clear()

    def expire_all(self) -> None:
        self._entries = {
            slot: (key, float("-inf"), usable) for slot, (key, _, usable) in self._entries.items()
        }

    def __len__(self) -> int:
        return len(self._entries)

    def _remember(self, slot: tuple[str, str], key: bytes | None, now: float) -> None:
        if len(self._entries) >= self._max_entries:
            self._entries = {s: e for s, e in self._entries.items() if e[2] > now}
            while len(self._entries) >= self._max_entries:
                del self._entries[next(iter(self._entries))]
        self._entries.pop(slot, None)
        fresh = now + (self._ttl if key is not None else self._negative_ttl)
        self._entries[slot] = (key, fresh, fresh + self._max_stale)


class LocalKeyring:
    """In-memory KeyProvider holding wrapped keys, for tests and tools (privacy has the durable
    one)."""

    def __init__(self, master_key: MasterKey | None = None) -> None:
        self._master_key = master_key or MasterKey.generate()
        self._wrapped: dict[tuple[str, str], bytes] = {}
        self._shredded: set[tuple[str, str]] = set()

    def get_key(self, tenant_id: str, subject_id: str, create: bool = False) -> bytes | None:
        slot = (str(tenant_id), str(subject_id))
        if slot in self._shredded:
            return None
        if slot not in self._wrapped:
            if not create:
                return None
            self._wrapped[slot] = self._master_key.wrap(new_data_key(), *slot)
        return self._master_key.unwrap(self._wrapped[slot], *slot)

    def shred(self, tenant_id: str, subject_id: str) -> bool:
        """Forget the subject's key for good; True if this call shredded it."""
        slot = (str(tenant_id), str(subject_id))
        first_time = slot not in self._shredded
        self._wrapped.pop(slot, None)
        self._shredded.add(slot)
        return first_time

    def is_shredded(self, tenant_id: str, subject_id: str) -> bool:
        return (str(tenant_id), str(subject_id)) in self._shredded


def subjects(pii: Mapping[str, Any] | None) -> set[str]:
    """The data subjects whose keys an envelope's `pii` object depends on."""
    return {
        entry["s"] for entry in (pii or {}).values() if isinstance(entry, Mapping) and "s" in entry
    }


class FieldCipher:
    """Seals personal fields under their subject's key; opens them, or yields ERASED
    once shredded."""

    subjects = staticmethod(subjects)

    def __init__(self, key_provider: KeyProvider) -> None:
        self._keys = key_provider

    def seal(
        self, tenant_id: str, fields: Mapping[str, tuple[str, Any]]
    ) -> dict[str, dict[str, str]]:
        """`{field: (subject_id, value)}` -> the envelope's `pii` object.

        A field of an already-shredded subject is recorded without ciphertext (it opens as
        ERASED): personal data of an erased subject must not be stored again.
        """
        keys: dict[str, bytes | None] = {}
        sealed = {}
        for field, (subject_id, value) in fields.items():
            subject_id = str(subject_id)
            if subject_id not in keys:
                keys[subject_id] = self._keys.get_key(tenant_id, subject_id, create=True)
            sealed[field] = self._seal_one(keys[subject_id], tenant_id, subject_id, field, value)
        return sealed

    def open(self, tenant_id: str, pii: Mapping[str, Any] | None) -> dict[str, Any]:
        """The plaintext of each field, or ERASED where the subject key is gone.

        Raises CipherError when an entry is malformed or fails authentication.
        """
        keys: dict[str, bytes | None] = {}
        opened = {}
        for field, entry in (pii or {}).items():
            subject_id = self._subject_of(field, entry)
            if subject_id not in keys:
                keys[subject_id] = self._keys.get_key(tenant_id, subject_id, create=False)
            opened[field] = self._open_one(keys[subject_id], tenant_id, field, entry)
        return opened

    def seal_value(self, tenant_id: str, subject_id: str, field: str, value: Any) -> dict[str, str]:
        """One personal column of a read model, in the same format as a `pii` entry."""
        key = self._keys.get_key(tenant_id, str(subject_id), create=True)
        return self._seal_one(key, tenant_id, str(subject_id), field, value)

    def subject_key(self, tenant_id: str, subject_id: str, create: bool = False) -> bytes | None:
        """The subject's data key itself, for what is sealed by other means than fields (files,
        shared.stream_cipher); None once shredded (and, without create, when never made)."""
        return self._keys.get_key(tenant_id, str(subject_id), create=create)

    def open_value(self, tenant_id: str, field: str, sealed: Mapping[str, Any]) -> Any:
        subject_id = self._subject_of(field, sealed)
        key = self._keys.get_key(tenant_id, subject_id, create=False)
        return self._open_one(key, tenant_id, field, sealed)

    @staticmethod
    def _subject_of(field: str, entry: Any) -> str:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("s"), str):
            raise CipherError(
                f"field {field!r} is not a sealed entry (expected an object with 's')"
            )
        return entry["s"]

    @staticmethod
    def _seal_one(
        key: bytes | None, tenant_id: str, subject_id: str, field: str, value: Any
    ) -> dict[str, str]:
        if key is None:
            return {"s": subject_id}
        plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        blob = encrypt_bytes(
            key, plaintext, _context("dzdesk/pii/v1", str(tenant_id), subject_id, field)
        )
        return {
            "s": subject_id,
            "n": _b64(blob[1 : 1 + NONCE_BYTES]),
            "c": _b64(blob[1 + NONCE_BYTES :]),
        }

    @staticmethod
    def _open_one(key: bytes | None, tenant_id: str, field: str, entry: Mapping[str, Any]) -> Any:
        if key is None or "c" not in entry:
            return ERASED
        if not isinstance(entry.get("n"), str) or not isinstance(entry["c"], str):
            raise CipherError(f"field {field!r} has a malformed nonce or ciphertext")
        blob = (
            _BLOB_FORMAT
            + _unb64(entry["n"], f"nonce of {field!r}")
            + _unb64(entry["c"], f"ciphertext of {field!r}")
        )
        aad = _context("dzdesk/pii/v1", str(tenant_id), entry["s"], field)
        try:
            plaintext = decrypt_bytes(key, blob, aad)
        except CipherError as exc:
            raise CipherError(
                f"field {field!r} of subject {entry['s']} failed authentication: tampered, "
                "or moved from another field, subject or tenant"
            ) from exc
        return json.loads(plaintext)
