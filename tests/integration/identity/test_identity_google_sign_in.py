"""Google sign-in through the HTTP API: tenants by hd, roles, and every check failing closed."""

import uuid

PROBLEM = "application/problem+json"


def _hd():
    return f"{uuid.uuid4().hex[:8]}.example"


def test_the_first_user_of_a_workspace_creates_its_tenant_as_admin(identity):
    hd = _hd()
    response = identity.google(hd=hd)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert body["user"]["roles"] == ["admin"]
    assert body["tenant"]["name"] == hd
    assert len(identity.events("identity.tenant_created")) == 1


def test_a_later_user_of_the_same_workspace_joins_its_tenant_as_requester(identity):
    hd = _hd()
    first = identity.google(hd=hd).json()
    later = identity.google(hd=hd).json()
    assert later["tenant"]["id"] == first["tenant"]["id"]
    assert later["user"]["roles"] == ["requester"]
    assert later["user"]["id"] != first["user"]["id"]
    joined = identity.events("identity.user_joined")
    assert [e["data"]["roles"] for e in joined] == [["admin"], ["requester"]]


def test_signing_in_again_finds_the_same_user(identity):
    sub, hd = uuid.uuid4().hex, _hd()
    first = identity.google(sub=sub, hd=hd).json()
    again = identity.google(sub=sub, hd=hd).json()
    assert again["user"]["id"] == first["user"]["id"]
    assert again["user"]["roles"] == ["admin"]
    assert len(identity.events("identity.user_joined")) == 1
    assert len(identity.events("identity.user_signed_in")) == 2


def test_an_account_without_a_workspace_gets_a_personal_tenant_of_its_own(identity):
    one = identity.google().json()
    other = identity.google().json()
    assert one["tenant"]["id"] != other["tenant"]["id"]
    assert one["user"]["roles"] == other["user"]["roles"] == ["admin"]
    kinds = [e["data"]["kind"] for e in identity.events("identity.tenant_created")]
    assert kinds == ["personal", "personal"]


def test_two_workspaces_get_two_tenants(identity):
    assert (
        identity.google(hd=_hd()).json()["tenant"]["id"]
        != identity.google(hd=_hd()).json()["tenant"]["id"]
    )


def _claims(provider, **changes):
    return provider.google_claims(
        uuid.uuid4().hex, "someone@example.test", hd="acme.example", **changes
    )


REJECTED_TOKENS = {
    "bad signature": lambda p: p.forge_with_unknown_key(_claims(p), p.google_keys[0].kid),
    "unknown kid": lambda p: p.forge_with_unknown_kid(_claims(p)),
    "alg none": lambda p: p.forge_unsigned(_claims(p), p.google_keys[0].kid),
    "HS256 with the public key": lambda p: p.forge_hs256_with_public_key(
        _claims(p), p.google_keys[0]
    ),
    "wrong audience": lambda p: p.google_keys[0].sign(
        _claims(p, aud="someone-else.apps.googleusercontent.com")
    ),
    "wrong issuer": lambda p: p.google_keys[0].sign(
        _claims(p, iss="https://accounts.evil.example")
    ),
    "expired": lambda p: p.google_keys[0].sign(_claims(p, exp_delta=-600)),
    "unverified email": lambda p: p.google_keys[0].sign(_claims(p, email_verified=False)),
    "not a jwt": lambda p: "not-a-token",
}


def test_every_rejected_google_token_is_a_401_problem_that_creates_nothing(identity):
    for case, forge in REJECTED_TOKENS.items():
        response = identity.post("/v1/auth/google", json={"id_token": forge(identity.provider)})
        assert response.status_code == 401, case
        assert response.headers["Content-Type"] == PROBLEM, case
        assert "Set-Cookie" not in response.headers, case
    assert identity.counts() == dict.fromkeys(identity.counts(), 0)


def test_a_body_without_an_id_token_is_a_400_problem(identity):
    response = identity.post("/v1/auth/google", json={})
    assert response.status_code == 400 and "id_token" in response.json()["errors"]
