"""Ed25519 public keys as JWKs (RFC 8037) and their RFC 7638 thumbprints, on PyJWT.

One place for what identity's token keys and audit's checkpoint keys both publish: the JWK of a
public key, the key of a JWK, and the thumbprint that serves as a key id derived from the key
itself (so the same key always has the same kid).
"""

import base64
import hashlib

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm
from jwt.exceptions import InvalidKeyError

# RFC 7638 §3.2: the thumbprint of an OKP key hashes exactly these members
_THUMBPRINT_MEMBERS = ("crv", "kty", "x")


class InvalidJwk(ValueError):
    """The value is not an Ed25519 public JWK (the text says which part is wrong)."""


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _public(key) -> Ed25519PublicKey:
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def thumbprint(key) -> str:
    """The RFC 7638 thumbprint (SHA-256, base64url) of an Ed25519 key (private or public)."""
    members = OKPAlgorithm.to_jwk(_public(key), as_dict=True)
    canonical = rfc8785.dumps({name: members[name] for name in _THUMBPRINT_MEMBERS})
    return _b64url(hashlib.sha256(canonical).digest())


def public_jwk(key, kid: str | None = None) -> dict:
    """`{"kty": "OKP", "crv": "Ed25519", "kid", "x"}` of a key; kid defaults to the thumbprint."""
    members = OKPAlgorithm.to_jwk(_public(key), as_dict=True)
    return {"kty": "OKP", "crv": "Ed25519", "kid": kid or thumbprint(key), "x": members["x"]}


def key_from_jwk(jwk) -> Ed25519PublicKey:
    """The Ed25519 public key of a JWK; `InvalidJwk` for anything else (a private JWK too)."""
    if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise InvalidJwk("the key must be a JWK with kty OKP and crv Ed25519")
    if not isinstance(jwk.get("x"), str):
        raise InvalidJwk("the JWK's x is not a base64url Ed25519 public key")
    try:
        key = OKPAlgorithm.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]})
    except (InvalidKeyError, TypeError, ValueError) as error:
        raise InvalidJwk("the JWK's x is not a base64url Ed25519 public key") from error
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidJwk("the JWK's x is not a base64url Ed25519 public key")
    return key


def keys_by_id(document) -> dict:
    """`{kid: Ed25519PublicKey}` from a JWK, a JWK set `{"keys": [...]}` or a list of JWKs; a JWK
    without a kid is listed under its thumbprint."""
    if isinstance(document, dict) and "keys" in document:
        document = document["keys"]
    keys = {}
    for jwk in document if isinstance(document, list) else [document]:
        key = key_from_jwk(jwk)
        keys[jwk.get("kid") or thumbprint(key)] = key
    return keys
