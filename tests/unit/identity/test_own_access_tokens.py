"""Identity's own access tokens: minted with the key ring, checked by shared.auth.TokenVerifier."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.identity.tokens import (
    KeyRing,
    SigningKey,
    hash_refresh_token,
    jwks,
    mint_access_token,
    new_refresh_token,
)
from shared.auth import KeySetCache, TokenVerifier, Unauthorized

ISSUER, AUDIENCE = "dzdesk-identity", "dzdesk"
RETAIN = timedelta(minutes=20)


class Identity:
    """Stands in for the identity service: a key ring whose JWKS is served over HTTP."""

    def __init__(self, provider):
        self.ring = KeyRing.bootstrap(datetime.now(UTC))
        self.jwks_url = provider.serve_json("/v1/auth/jwks", self.published_jwks)

    def published_jwks(self) -> dict:
        return jwks(self.ring.published(datetime.now(UTC), RETAIN))

    def mint(
        self, user_id=None, tenant_id=None, roles=("agent",), ttl_seconds=300, now=None, key=None
    ):
        return mint_access_token(
            key or self.ring.current,
            ISSUER,
            AUDIENCE,
            user_id or str(uuid.uuid4()),
            tenant_id or str(uuid.uuid4()),
            roles,
            ttl_seconds,
            now or datetime.now(UTC),
        )


@pytest.fixture
def identity(provider):
    return Identity(provider)


@pytest.fixture
def verifier(identity, clock):
    return TokenVerifier(
        identity.jwks_url, ISSUER, AUDIENCE, keys=KeySetCache(identity.jwks_url, clock=clock)
    )


def _segments(token: str) -> list[str]:
    return token.split(".")


def _encode(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def test_a_minted_access_token_verifies_to_its_principal(identity, verifier):
    user_id, tenant_id = str(uuid.uuid4()), str(uuid.uuid4())
    principal = verifier.verify(identity.mint(user_id, tenant_id, roles=["agent", "admin"]))
    assert (principal.user_id, principal.tenant_id, principal.roles) == (
        user_id,
        tenant_id,
        frozenset({"agent", "admin"}),
    )


def test_the_access_token_header_carries_type_algorithm_and_key_id(identity):
    header = jwt.get_unverified_header(identity.mint())
    assert header == {"typ": "at+jwt", "alg": "EdDSA", "kid": identity.ring.current.kid}


def test_a_token_whose_claims_were_tampered_with_is_rejected(identity, verifier):
    token = identity.mint(roles=["requester"])
    header, _, signature = _segments(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = ".".join([header, _encode({**claims, "roles": ["admin"]}), signature])
    with pytest.raises(Unauthorized, match="invalid access token"):
        verifier.verify(forged)


def test_a_token_for_another_audience_is_rejected(identity, verifier):
    token = mint_access_token(
        identity.ring.current,
        ISSUER,
        "another-product",
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        ["admin"],
        300,
        datetime.now(UTC),
    )
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_a_token_from_another_issuer_is_rejected(identity, verifier):
    token = mint_access_token(
        identity.ring.current,
        "someone-else",
        AUDIENCE,
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        ["admin"],
        300,
        datetime.now(UTC),
    )
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_an_expired_access_token_is_rejected(identity, verifier):
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(identity.mint(now=an_hour_ago, ttl_seconds=300))


def test_a_signed_jwt_that_is_not_typed_as_an_access_token_is_rejected(identity, verifier):
    key = identity.ring.current
    claims = jwt.decode(identity.mint(), options={"verify_signature": False})
    token = jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})
    with pytest.raises(Unauthorized, match="not an access token"):
        verifier.verify(token)


def test_a_token_signed_by_an_unpublished_key_is_rejected(identity, verifier):
    stranger = SigningKey.generate(datetime.now(UTC), state="current")
    with pytest.raises(Unauthorized, match="unknown signing key"):
        verifier.verify(identity.mint(key=stranger))


def test_a_token_claiming_a_published_kid_but_signed_by_another_key_is_rejected(identity, verifier):
    stranger = SigningKey.generate(datetime.now(UTC), state="current")
    impostor = SigningKey(
        identity.ring.current.kid, stranger.private_key, stranger.created_at, "current"
    )
    with pytest.raises(Unauthorized, match="invalid access token"):
        verifier.verify(identity.mint(key=impostor))


def test_an_unsigned_alg_none_token_is_rejected(identity, verifier):
    _, payload, _ = _segments(identity.mint())
    unsigned = _encode({"alg": "none", "typ": "at+jwt", "kid": identity.ring.current.kid})
    with pytest.raises(Unauthorized, match="unsupported"):
        verifier.verify(f"{unsigned}.{payload}.")


def test_only_the_current_key_may_sign(identity):
    with pytest.raises(ValueError):
        identity.mint(key=identity.ring.next)


def test_a_refresh_token_is_returned_with_the_hash_that_is_stored():
    token, stored_hash = new_refresh_token()
    assert stored_hash == hash_refresh_token(token)
    assert token not in stored_hash


def test_refresh_tokens_are_unique():
    assert new_refresh_token()[0] != new_refresh_token()[0]
