"""Identity's own tokens: Ed25519 signing keys and their rotation, access JWTs, refresh tokens."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.jwk import public_jwk, thumbprint

NEXT, CURRENT, RETIRED = "next", "current", "retired"
ACCESS_TOKEN_TYPE = "at+jwt"


@dataclass(frozen=True)
class SigningKey:
    """One Ed25519 key; ``state`` is next (published, not yet signing), current or retired."""

    kid: str
    private_key: Ed25519PrivateKey
    created_at: datetime
    state: str
    retired_at: datetime | None = None

    def __post_init__(self):
        if self.state not in (NEXT, CURRENT, RETIRED):
            raise ValueError(f"unknown key state {self.state!r}")
        if (self.state == RETIRED) != (self.retired_at is not None):
            raise ValueError("a retired key, and only a retired key, has retired_at")

    @classmethod
    def generate(cls, now: datetime, state: str = NEXT) -> "SigningKey":
        private_key = Ed25519PrivateKey.generate()
        # RFC 7638: the kid is derived from the key, so the same key always has the same kid
        return cls(thumbprint(private_key), private_key, now, state)

    @classmethod
    def from_private_bytes(
        cls,
        kid: str,
        raw: bytes,
        created_at: datetime,
        state: str,
        retired_at: datetime | None = None,
    ) -> "SigningKey":
        """Rebuild a stored key; ``raw`` is what :meth:`private_bytes` returned."""
        return cls(kid, Ed25519PrivateKey.from_private_bytes(raw), created_at, state, retired_at)

    def private_bytes(self) -> bytes:
        """The raw 32-byte private key, for storage (encrypt it before it reaches a table)."""
        return self.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def public_jwk(self) -> dict:
        return {**public_jwk(self.private_key, self.kid), "use": "sig", "alg": "EdDSA"}


@dataclass(frozen=True)
class KeyRing:
    """The signing keys and their rotation.

    Rotation never breaks a caller: the next key is published one rotation period before it
    signs anything, so verifiers have it cached when the first token arrives; a retired key stays
    published until every access token it signed has expired.
    """

    keys: tuple[SigningKey, ...]

    def __post_init__(self):
        states = [key.state for key in self.keys]
        if states.count(CURRENT) != 1 or states.count(NEXT) > 1:
            raise ValueError("a key ring holds exactly one current key and at most one next key")

    @classmethod
    def bootstrap(cls, now: datetime) -> "KeyRing":
        return cls((SigningKey.generate(now, CURRENT), SigningKey.generate(now, NEXT)))

    @property
    def current(self) -> SigningKey:
        return next(key for key in self.keys if key.state == CURRENT)

    @property
    def next(self) -> SigningKey | None:
        return next((key for key in self.keys if key.state == NEXT), None)

    def rotate(self, now: datetime) -> "KeyRing":
        """next -> current, current -> retired, and a fresh next key."""
        if self.next is None:
            raise ValueError("no next key to promote: it must be published before it signs")
        promoted = {
            self.current.kid: replace(self.current, state=RETIRED, retired_at=now),
            self.next.kid: replace(self.next, state=CURRENT),
        }
        keys = tuple(promoted.get(key.kid, key) for key in self.keys)
        return KeyRing(keys + (SigningKey.generate(now, NEXT),))

    def published(self, now: datetime, retain_retired_for: timedelta) -> list[SigningKey]:
        """Keys verifiers must know: next, current, and retired ones whose tokens may still live."""
        return [
            key
            for key in self.keys
            if key.state != RETIRED or key.retired_at + retain_retired_for > now
        ]

    def prune(self, now: datetime, retain_retired_for: timedelta) -> "KeyRing":
        """Drop retired keys that no live token can refer to any more."""
        return KeyRing(tuple(self.published(now, retain_retired_for)))

    def find(self, kid: str) -> SigningKey | None:
        return next((key for key in self.keys if key.kid == kid), None)


def jwks(keys) -> dict:
    """The JWK Set served at ``/v1/auth/jwks`` (public halves only)."""
    return {"keys": [key.public_jwk() for key in keys]}


def mint_access_token(
    key: SigningKey,
    issuer: str,
    audience: str,
    user_id: str,
    tenant_id: str,
    roles,
    ttl_seconds: int,
    now: datetime,
    kind: str | None = None,
) -> str:
    """A short-lived access JWT (RFC 9068 ``at+jwt``) signed by the current key; ``kind``
    (``service_account``) marks a program's token, a person's carries none."""
    if key.state != CURRENT:
        raise ValueError(f"only the current key signs tokens, not a {key.state} one")
    issued_at = int(now.timestamp())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": str(user_id),
        "tenant_id": str(tenant_id),
        "roles": sorted(set(roles)),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + int(ttl_seconds),
        "jti": str(uuid.uuid4()),
    }
    if kind:
        claims["kind"] = kind
    return jwt.encode(
        claims,
        key.private_key,
        algorithm="EdDSA",
        headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYPE},
    )


def hash_refresh_token(token: str) -> str:
    """SHA-256 hex of a refresh token: only this is stored, so a database leak yields no tokens."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_refresh_token() -> tuple[str, str]:
    """A fresh opaque refresh token (256 random bits) and its stored hash."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)
