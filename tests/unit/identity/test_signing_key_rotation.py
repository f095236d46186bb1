"""Signing-key rotation without downtime: publish ahead, retire after the last token expires."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.identity.tokens import KeyRing, SigningKey, jwks, mint_access_token
from shared.auth import KeySetCache, TokenVerifier

ISSUER, AUDIENCE = "dzdesk-identity", "dzdesk"
RETAIN = timedelta(minutes=20)


def _kids(keys) -> set:
    return {key["kid"] for key in jwks(keys)["keys"]}


def _mint(key, now=None):
    return mint_access_token(
        key,
        ISSUER,
        AUDIENCE,
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        ["agent"],
        300,
        now or datetime.now(UTC),
    )


@pytest.fixture
def ring_holder(provider):
    holder = {"ring": KeyRing.bootstrap(datetime.now(UTC))}
    holder["url"] = provider.serve_json(
        "/v1/auth/jwks", lambda: jwks(holder["ring"].published(datetime.now(UTC), RETAIN))
    )
    return holder


@pytest.fixture
def verifier(ring_holder, clock):
    return TokenVerifier(
        ring_holder["url"], ISSUER, AUDIENCE, keys=KeySetCache(ring_holder["url"], clock=clock)
    )


def test_the_next_key_is_published_before_it_signs_anything():
    ring = KeyRing.bootstrap(datetime.now(UTC))
    assert ring.next.kid != ring.current.kid
    assert _kids(ring.published(datetime.now(UTC), RETAIN)) == {ring.current.kid, ring.next.kid}


def test_rotation_promotes_the_next_key_and_retires_the_current_one():
    ring = KeyRing.bootstrap(datetime.now(UTC))
    rotated = ring.rotate(datetime.now(UTC))
    assert rotated.current.kid == ring.next.kid
    assert rotated.find(ring.current.kid).state == "retired"
    assert rotated.next.kid not in {ring.current.kid, ring.next.kid}


def test_a_token_signed_before_rotation_still_verifies_after_it(ring_holder, verifier):
    token = _mint(ring_holder["ring"].current)
    ring_holder["ring"] = ring_holder["ring"].rotate(datetime.now(UTC))
    assert verifier.verify(token).roles == frozenset({"agent"})


def test_tokens_from_the_promoted_key_verify_from_the_already_cached_key_set(
    provider, ring_holder, verifier
):
    verifier.verify(_mint(ring_holder["ring"].current))
    ring_holder["ring"] = ring_holder["ring"].rotate(datetime.now(UTC))
    verifier.verify(_mint(ring_holder["ring"].current))
    assert provider.hits["/v1/auth/jwks"] == 1


def test_a_retired_key_is_unpublished_once_its_tokens_have_expired():
    rotated_at = datetime.now(UTC)
    ring = KeyRing.bootstrap(rotated_at)
    rotated = ring.rotate(rotated_at)
    assert ring.current.kid in _kids(
        rotated.published(rotated_at + RETAIN - timedelta(seconds=1), RETAIN)
    )
    assert ring.current.kid not in _kids(rotated.published(rotated_at + RETAIN, RETAIN))


def test_pruning_drops_only_retired_keys_past_retention():
    start = datetime.now(UTC)
    ring = KeyRing.bootstrap(start).rotate(start).rotate(start + RETAIN)
    pruned = ring.prune(start + RETAIN + timedelta(seconds=1), RETAIN)
    assert [key.state for key in pruned.keys] == ["retired", "current", "next"]


def test_a_stored_key_rebuilds_into_the_same_signing_key():
    key = KeyRing.bootstrap(datetime.now(UTC)).current
    rebuilt = SigningKey.from_private_bytes(key.kid, key.private_bytes(), key.created_at, key.state)
    assert rebuilt.public_jwk() == key.public_jwk()


def test_a_ring_with_two_current_keys_is_refused():
    now = datetime.now(UTC)
    with pytest.raises(ValueError):
        KeyRing((SigningKey.generate(now, "current"), SigningKey.generate(now, "current")))


def test_the_published_jwk_is_an_ed25519_public_key_only():
    (jwk,) = jwks([SigningKey.generate(datetime.now(UTC))])["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert "d" not in jwk
