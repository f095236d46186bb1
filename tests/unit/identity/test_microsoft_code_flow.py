"""The Microsoft authorization-code flow: msal against the fake provider over real TLS."""

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from dzdesk_dev.oidc import MicrosoftUser
from services.identity.federation import InvalidIdToken, MicrosoftAuthCodeFlow, MicrosoftVerifier

REDIRECT_URI = "https://app.dzdesk.test/v1/auth/microsoft/callback"


@pytest.fixture
def signing_in_user(provider):
    provider.microsoft_user = MicrosoftUser(
        str(uuid.uuid4()), str(uuid.uuid4()), f"{uuid.uuid4().hex[:8]}@contoso.example", "Ana"
    )
    return provider.microsoft_user


def _flow(provider, client_secret=None) -> MicrosoftAuthCodeFlow:
    verifier = MicrosoftVerifier(provider.microsoft_client_id, provider.microsoft_jwks_url)
    return MicrosoftAuthCodeFlow(
        provider.microsoft_client_id,
        client_secret or provider.microsoft_client_secret,
        provider.microsoft_authority("organizations"),
        REDIRECT_URI,
        ["email"],
        verifier,
    )


def _sign_in_at_provider(authorize_url: str, ca_bundle: str) -> dict:
    """What the browser does: visit the authorize URL and come back with the redirect's query."""
    response = requests.get(authorize_url, allow_redirects=False, verify=ca_bundle, timeout=5)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def test_the_flow_ends_with_the_signed_in_microsoft_account(
    provider, trust_fake_tls, signing_in_user
):
    flow = _flow(provider)
    authorize_url, state = flow.start()
    identity = flow.finish(state, _sign_in_at_provider(authorize_url, trust_fake_tls))
    user = signing_in_user
    assert identity.account_key == ("microsoft", user.tid, user.oid)
    assert identity.org_key == f"microsoft:{user.tid}"
    assert identity.email == user.email


def test_the_authorize_url_points_at_the_providers_tls_endpoint(provider, trust_fake_tls):
    authorize_url, state = _flow(provider).start()
    assert authorize_url.startswith(provider.https_url + "/organizations/oauth2/v2.0/authorize?")
    assert parse_qs(urlsplit(authorize_url).query)["state"] == [state["state"]]


def test_a_callback_with_another_state_is_rejected(provider, trust_fake_tls, signing_in_user):
    flow = _flow(provider)
    authorize_url, state = flow.start()
    callback = _sign_in_at_provider(authorize_url, trust_fake_tls)
    with pytest.raises(InvalidIdToken, match="response rejected"):
        flow.finish(state, {**callback, "state": uuid.uuid4().hex})


def test_an_authorization_code_cannot_be_redeemed_twice(provider, trust_fake_tls, signing_in_user):
    flow = _flow(provider)
    authorize_url, state = flow.start()
    callback = _sign_in_at_provider(authorize_url, trust_fake_tls)
    flow.finish(dict(state), callback)
    with pytest.raises(InvalidIdToken, match="did not accept"):
        flow.finish(dict(state), callback)


def test_a_wrong_client_secret_gets_no_identity(provider, trust_fake_tls, signing_in_user):
    flow = _flow(provider, client_secret="wrong-" + uuid.uuid4().hex)
    authorize_url, state = flow.start()
    with pytest.raises(InvalidIdToken, match="did not accept"):
        flow.finish(state, _sign_in_at_provider(authorize_url, trust_fake_tls))


def test_a_callback_reporting_a_provider_error_is_rejected(provider, trust_fake_tls):
    flow = _flow(provider)
    _, state = flow.start()
    with pytest.raises(InvalidIdToken):
        flow.finish(state, {"state": state["state"], "error": "access_denied"})
