"""shared.auth: key-set caching and refetching, principals, role checks and the nameko provider."""

import uuid
from datetime import UTC, datetime

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.identity.tokens import KeyRing, SigningKey, jwks, mint_access_token
from shared.auth import (
    Authenticator,
    Forbidden,
    KeySetCache,
    KeysUnavailable,
    Principal,
    TokenVerifier,
    Unauthorized,
    require_roles,
)

ISSUER, AUDIENCE = "dzdesk-identity", "dzdesk"
JWKS_PATH = "/v1/auth/jwks"


def _mint(key, roles=("agent",)):
    return mint_access_token(
        key, ISSUER, AUDIENCE, str(uuid.uuid4()), str(uuid.uuid4()), roles, 300, datetime.now(UTC)
    )


@pytest.fixture
def published(provider):
    """The identity key ring as served over HTTP; tests swap ``published["ring"]``."""
    state = {"ring": KeyRing.bootstrap(datetime.now(UTC))}
    state["url"] = provider.serve_json(JWKS_PATH, lambda: jwks(state["ring"].keys))
    return state


def _verifier(url, clock, **cache_options):
    return TokenVerifier(url, ISSUER, AUDIENCE, keys=KeySetCache(url, clock=clock, **cache_options))


def test_an_unknown_kid_triggers_a_refetch_of_the_key_set(provider, published, clock):
    verifier = _verifier(published["url"], clock)
    verifier.verify(_mint(published["ring"].current))
    published["ring"] = KeyRing.bootstrap(datetime.now(UTC))
    clock.advance(31)
    principal = verifier.verify(_mint(published["ring"].current))
    assert principal.roles == frozenset({"agent"})
    assert provider.hits[JWKS_PATH] == 2


def test_random_unknown_kids_cause_at_most_one_refetch_per_interval(provider, published, clock):
    verifier = _verifier(published["url"], clock, min_refetch_interval=30)
    verifier.verify(_mint(published["ring"].current))
    clock.advance(30)
    for _ in range(20):
        stranger = SigningKey.generate(datetime.now(UTC), state="current")
        with pytest.raises(Unauthorized):
            verifier.verify(_mint(stranger))
        clock.advance(1)
    assert provider.hits[JWKS_PATH] == 2


def test_a_cached_key_set_is_refreshed_once_it_is_stale(provider, published, clock):
    verifier = _verifier(published["url"], clock, max_age=300)
    token = _mint(published["ring"].current)
    verifier.verify(token)
    clock.advance(301)
    verifier.verify(token)
    assert provider.hits[JWKS_PATH] == 2


def test_unreachable_signing_keys_are_a_retryable_outage_not_a_bad_token(provider, clock):
    missing_url = provider.http_url + "/nothing-here/" + uuid.uuid4().hex
    key = KeyRing.bootstrap(datetime.now(UTC)).current
    with pytest.raises(KeysUnavailable) as caught:
        _verifier(missing_url, clock).verify(_mint(key))
    assert caught.value.status == 503


def test_a_principal_has_any_of_its_roles():
    principal = Principal(str(uuid.uuid4()), str(uuid.uuid4()), frozenset({"agent"}))
    assert principal.has_any("admin", "agent")
    assert not principal.has_any("admin", "compliance_officer")


def test_require_roles_refuses_a_principal_without_them_with_403():
    principal = Principal(str(uuid.uuid4()), str(uuid.uuid4()), frozenset({"requester"}))
    with pytest.raises(Forbidden) as caught:
        require_roles(principal, "admin", "agent")
    assert caught.value.status == 403


def test_require_roles_lets_a_principal_with_one_of_them_through():
    principal = Principal(str(uuid.uuid4()), str(uuid.uuid4()), frozenset({"agent"}))
    require_roles(principal, "admin", "agent")


class _Container:
    def __init__(self, config):
        self.config = config


def _request(headers=None) -> Request:
    return Request(EnvironBuilder(path="/v1/tickets", headers=headers or {}).get_environ())


@pytest.fixture
def authenticator(published):
    container = _Container({"IDENTITY_JWKS_URL": published["url"]})
    provider = Authenticator().bind(container, "auth")
    provider.setup()
    yield provider.get_dependency(worker_ctx=None)
    provider.stop()


def test_the_nameko_authenticator_reads_the_bearer_token_of_a_request(published, authenticator):
    token = _mint(published["ring"].current, roles=["admin"])
    principal = authenticator.principal(_request({"Authorization": f"Bearer {token}"}))
    assert principal.roles == frozenset({"admin"})


def test_a_request_without_a_bearer_token_is_unauthorized_with_401(authenticator):
    with pytest.raises(Unauthorized) as caught:
        authenticator.principal(_request())
    assert caught.value.status == 401


def test_a_request_with_another_scheme_is_unauthorized(published, authenticator):
    with pytest.raises(Unauthorized, match="missing bearer token"):
        authenticator.principal(_request({"Authorization": "Basic " + uuid.uuid4().hex}))
