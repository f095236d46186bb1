"""shared.auth: a verified token is remembered, but never past its expiry, never past the key
set it verified against, and never for another token."""

import uuid
from datetime import UTC, datetime

import pytest

from services.identity.tokens import KeyRing, mint_access_token
from shared.auth import KeySetCache, TokenVerifier, Unauthorized
from tests.unit.identity.test_access_token_verifier import AUDIENCE, ISSUER, JWKS_PATH


class WallClock:
    def __init__(self):
        self.now = datetime.now(UTC).timestamp()

    def __call__(self):
        return self.now


def _token(key, ttl=300, tenant_id=None, roles=("agent",)):
    return mint_access_token(
        key,
        ISSUER,
        AUDIENCE,
        str(uuid.uuid4()),
        tenant_id or str(uuid.uuid4()),
        roles,
        ttl,
        datetime.now(UTC),
    )


@pytest.fixture
def published(provider):
    state = {"ring": KeyRing.bootstrap(datetime.now(UTC))}
    state["url"] = provider.serve_json(JWKS_PATH, lambda: jwks_of(state))
    return state


def jwks_of(state):
    from services.identity.tokens import jwks

    return jwks(state["ring"].keys)


def _verifier(published, clock, wall, **options):
    keys = KeySetCache(published["url"], clock=clock, max_age=300, min_refetch_interval=30)
    return TokenVerifier(published["url"], ISSUER, AUDIENCE, keys=keys, clock=wall, **options)


def test_a_token_is_verified_once_and_then_remembered(published, clock, monkeypatch):
    verifier = _verifier(published, clock, WallClock())
    token = _token(published["ring"].current)
    first = verifier.verify(token)
    checks = []
    monkeypatch.setattr(verifier, "_verify", lambda t: checks.append(t))
    assert verifier.verify(token) == first
    assert checks == []


def test_each_token_answers_its_own_principal(published, clock):
    verifier = _verifier(published, clock, WallClock())
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    ours = _token(published["ring"].current, tenant_id=a)
    theirs = _token(published["ring"].current, tenant_id=b, roles=("requester",))
    for _ in range(2):
        assert verifier.verify(ours).tenant_id == a
        assert verifier.verify(theirs).tenant_id == b
        assert verifier.verify(theirs).roles == frozenset({"requester"})


def test_a_remembered_token_past_its_expiry_and_the_leeway_is_refused(published, clock):
    wall = WallClock()
    verifier = _verifier(published, clock, wall, leeway=0)
    token = _token(published["ring"].current, ttl=60)
    verifier.verify(token)
    wall.now += 61  # the cache's clock says expired; the signature check agrees once it is
    with pytest.raises(Unauthorized):
        _refused_after_expiry(verifier, token)


def _refused_after_expiry(verifier, token):
    # PyJWT reads the real time: stand its clock forward too
    import jwt.api_jwt

    real = jwt.api_jwt.datetime

    class Later(real):
        @classmethod
        def now(cls, tz=None):
            return real.now(tz) + __import__("datetime").timedelta(seconds=61)

    jwt.api_jwt.datetime = Later
    try:
        verifier.verify(token)
    finally:
        jwt.api_jwt.datetime = real


def test_a_remembered_token_is_checked_again_once_its_key_is_rotated_out(published, clock):
    verifier = _verifier(published, clock, WallClock())
    token = _token(published["ring"].current)
    verifier.verify(token)
    published["ring"] = KeyRing.bootstrap(datetime.now(UTC))  # the old key is gone
    clock.advance(301)  # the key set is stale: refetched, without the token's key
    with pytest.raises(Unauthorized, match="unknown signing key"):
        verifier.verify(token)


def test_the_cache_holds_at_most_its_size(published, clock):
    verifier = _verifier(published, clock, WallClock(), cache_size=3)
    for _ in range(5):
        verifier.verify(_token(published["ring"].current))
    assert len(verifier._verified) == 3


def test_a_key_source_with_only_jwk_serves_as_before(published):
    """identity hands the verifier its own keys: an object with jwk(kid) and close() only."""

    class Keys:
        def __init__(self, document):
            self.keys = {key["kid"]: key for key in document["keys"]}

        def jwk(self, kid):
            return self.keys[kid]

        def close(self):
            pass

    keys = Keys(jwks_of(published))
    verifier = TokenVerifier("", ISSUER, AUDIENCE, keys=keys)
    token = _token(published["ring"].current)
    assert verifier.verify(token) == verifier.verify(token)
    keys.keys.clear()  # the key is no longer published
    with pytest.raises(Unauthorized, match="unknown signing key"):
        verifier.verify(token)
