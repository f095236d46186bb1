"""Microsoft sign-in through the HTTP API: ID tokens, the msal code flow, every check failing
closed."""

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from dzdesk_dev.oidc import MICROSOFT_ISSUER_TEMPLATE, MicrosoftUser
from services.identity.cookies import LOGIN_STATE_COOKIE, SESSION_COOKIE
from services.identity.federation import MICROSOFT_CONSUMER_TENANT

PROBLEM = "application/problem+json"


def test_the_first_user_of_an_entra_tenant_creates_its_dzdesk_tenant_as_admin(identity):
    tid = str(uuid.uuid4())
    first = identity.microsoft(tid=tid)
    later = identity.microsoft(tid=tid)
    assert first.status_code == later.status_code == 200, first.text
    assert first.json()["user"]["roles"] == ["admin"]
    assert later.json()["user"]["roles"] == ["requester"]
    assert later.json()["tenant"]["id"] == first.json()["tenant"]["id"]


def test_a_personal_microsoft_account_gets_a_personal_tenant(identity):
    one = identity.microsoft(tid=MICROSOFT_CONSUMER_TENANT).json()
    other = identity.microsoft(tid=MICROSOFT_CONSUMER_TENANT).json()
    assert one["tenant"]["id"] != other["tenant"]["id"]
    assert one["user"]["roles"] == other["user"]["roles"] == ["admin"]
    assert {e["data"]["kind"] for e in identity.events("identity.tenant_created")} == {"personal"}


def test_an_email_claim_naming_another_user_never_reaches_that_users_account(identity):
    tid, victim_email = str(uuid.uuid4()), f"ceo-{uuid.uuid4().hex[:6]}@contoso.test"
    victim = identity.microsoft(tid=tid, email=victim_email).json()
    for attacker_tid in (tid, str(uuid.uuid4())):
        attacker = identity.microsoft(tid=attacker_tid, email=victim_email).json()
        assert attacker["user"]["id"] != victim["user"]["id"]
        assert (
            attacker["user"]["roles"] != ["admin"]
            or attacker["tenant"]["id"] != victim["tenant"]["id"]
        )
    me = identity.get("/v1/me", token=victim["access_token"]).json()
    assert me["roles"] == ["admin"] and me["id"] == victim["user"]["id"]


def _claims(provider, **changes):
    return provider.microsoft_claims(
        str(uuid.uuid4()), str(uuid.uuid4()), "u@contoso.test", "U", **changes
    )


def _foreign_issuer(provider):
    claims = _claims(provider)
    return provider.microsoft_keys[0].sign(
        {**claims, "iss": MICROSOFT_ISSUER_TEMPLATE.format(tid=uuid.uuid4())}
    )


REJECTED_TOKENS = {
    "bad signature": lambda p: p.forge_with_unknown_key(_claims(p), p.microsoft_keys[0].kid),
    "unknown kid": lambda p: p.forge_with_unknown_kid(_claims(p)),
    "alg none": lambda p: p.forge_unsigned(_claims(p), p.microsoft_keys[0].kid),
    "HS256 with the public key": lambda p: p.forge_hs256_with_public_key(
        _claims(p), p.microsoft_keys[0]
    ),
    "wrong audience": lambda p: p.microsoft_keys[0].sign(_claims(p, aud=str(uuid.uuid4()))),
    "wrong issuer": lambda p: p.microsoft_keys[0].sign(
        _claims(p, iss="https://sts.evil.example/x/v2.0")
    ),
    "issuer of another tid": _foreign_issuer,
    "expired": lambda p: p.microsoft_keys[0].sign(_claims(p, exp_delta=-600)),
    "no oid": lambda p: p.microsoft_keys[0].sign(
        {k: v for k, v in _claims(p).items() if k != "oid"}
    ),
}


def test_every_rejected_microsoft_token_is_a_401_problem_that_creates_nothing(identity):
    for case, forge in REJECTED_TOKENS.items():
        response = identity.post("/v1/auth/microsoft", json={"id_token": forge(identity.provider)})
        assert response.status_code == 401, case
        assert response.headers["Content-Type"] == PROBLEM, case
        assert "Set-Cookie" not in response.headers, case
    assert identity.counts() == dict.fromkeys(identity.counts(), 0)


def test_a_tenant_outside_the_allow_list_is_rejected_and_one_inside_is_accepted(start_identity):
    allowed = str(uuid.uuid4())
    identity = start_identity(MICROSOFT_ALLOWED_TENANTS=f"{uuid.uuid4()}, {allowed}")
    assert identity.microsoft(tid=str(uuid.uuid4())).status_code == 401
    assert identity.counts()["tenants"] == 0
    assert identity.microsoft(tid=allowed).status_code == 200


@pytest.fixture
def code_flow(identity, monkeypatch):
    """The identity service under test trusts the fake provider's TLS certificate (msal needs
    https)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", identity.provider.ca_bundle_path)
    user = MicrosoftUser(
        str(uuid.uuid4()), str(uuid.uuid4()), f"{uuid.uuid4().hex[:8]}@contoso.test", "Ana"
    )
    identity.provider.microsoft_user = user
    return identity, user


def _browser_signs_in(identity):
    """Follow /login to the provider and back: the callback URL the browser would open, and
    the state cookie /login gave this browser (Secure: sent by hand over the test's http)."""
    login = identity.get("/v1/auth/microsoft/login", allow_redirects=False)
    assert login.status_code == 302, login.text
    at_provider = requests.get(
        login.headers["Location"],
        allow_redirects=False,
        verify=identity.provider.ca_bundle_path,
        timeout=10,
    )
    assert at_provider.status_code == 302
    callback = at_provider.headers["Location"]
    assert callback.startswith(identity.base + "/v1/auth/microsoft/callback?")
    return callback, {LOGIN_STATE_COOKIE: login.cookies[LOGIN_STATE_COOKIE]}


def _state_of(url):
    return parse_qs(urlsplit(url).query)["state"][0]


def test_the_code_flow_signs_the_microsoft_user_in_and_keeps_the_refresh_token_out_of_the_page(
    code_flow,
):
    identity, user = code_flow
    callback, cookie = _browser_signs_in(identity)
    response = requests.get(callback, cookies=cookie, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["email"] == user.email
    assert response.json()["user"]["roles"] == ["admin"]
    refresh_token = response.cookies[SESSION_COOKIE]
    assert "refresh_token" not in response.json() and refresh_token not in response.text
    assert f"{LOGIN_STATE_COOKIE}=;" in response.headers["Set-Cookie"]  # the state is spent
    assert (
        identity.post("/v1/auth/refresh", json={"refresh_token": refresh_token}).status_code == 200
    )
    signed_in = identity.events("identity.user_signed_in")
    assert [e["data"]["method"] for e in signed_in] == ["microsoft_code"]


def test_login_binds_the_state_to_the_browser_in_a_short_lived_secure_cookie(code_flow):
    identity, _ = code_flow
    login = identity.get("/v1/auth/microsoft/login", allow_redirects=False)
    header = login.headers["Set-Cookie"]
    state = _state_of(login.headers["Location"])
    assert header.startswith(f"{LOGIN_STATE_COOKIE}={state};")
    attributes = {
        part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")[1:]
    }
    assert {"httponly", "secure", "samesite", "max-age", "path"} <= set(attributes)
    assert (
        attributes["samesite"] == "SameSite=Lax" and attributes["path"] == "Path=/v1/auth/microsoft"
    )
    assert (
        0 < int(attributes["max-age"].split("=")[1]) <= int(identity.cfg.get("LOGIN_FLOW_TTL", 600))
    )


def test_a_callback_from_a_browser_that_did_not_start_the_sign_in_is_rejected_and_writes_nothing(
    code_flow,
):
    identity, _ = code_flow
    callback, _ = _browser_signs_in(
        identity
    )  # the attacker's own sign-in, its link sent to a victim
    _, victims_cookie = _browser_signs_in(
        identity
    )  # the victim has a sign-in of their own in flight
    flows = identity.rows("SELECT state FROM login_flows ORDER BY state")
    for cookies in ({}, victims_cookie, {LOGIN_STATE_COOKIE: ""}):
        response = requests.get(callback, cookies=cookies, timeout=10)
        assert response.status_code == 401 and response.headers["Content-Type"] == PROBLEM
        assert SESSION_COOKIE not in response.cookies
    assert identity.rows("SELECT state FROM login_flows ORDER BY state") == flows
    assert identity.counts() == dict.fromkeys(identity.counts(), 0)


def test_the_state_and_nonce_are_kept_server_side_and_used_once(code_flow):
    identity, _ = code_flow
    callback, cookie = _browser_signs_in(identity)
    stored = identity.rows("SELECT flow FROM login_flows WHERE state = %s", (_state_of(callback),))
    assert len(stored) == 1 and stored[0][0]["nonce"]
    assert requests.get(callback, cookies=cookie, timeout=10).status_code == 200
    replay = requests.get(callback, cookies=cookie, timeout=10)
    assert replay.status_code == 401 and replay.headers["Content-Type"] == PROBLEM
    assert identity.rows("SELECT count(*) FROM login_flows")[0][0] == 0


def test_a_callback_with_an_unknown_state_is_rejected_and_creates_nothing(code_flow):
    identity, _ = code_flow
    callback, _ = _browser_signs_in(identity)
    forged_state = "x" + uuid.uuid4().hex
    forged = callback.replace("state=", "state=" + forged_state)
    forged_state = _state_of(forged)
    response = requests.get(forged, cookies={LOGIN_STATE_COOKIE: forged_state}, timeout=10)
    assert response.status_code == 401
    assert identity.counts() == dict.fromkeys(identity.counts(), 0)
