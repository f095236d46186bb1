"""Identity's own tokens over HTTP: access JWTs, JWKS and rotation, refresh rotation and reuse,
logout, cookie."""

import uuid

import jwt
import requests

from shared.auth import TokenVerifier

PROBLEM = "application/problem+json"


def _signed_in(identity):
    response = identity.google(hd=f"{uuid.uuid4().hex[:8]}.example")
    assert response.status_code == 200, response.text
    return response


def _verifier(identity):
    return TokenVerifier(identity.base + "/v1/auth/jwks", "dzdesk-identity", "dzdesk")


def test_the_access_token_is_an_eddsa_at_jwt_with_the_contract_claims(identity):
    body = _signed_in(identity).json()
    header = jwt.get_unverified_header(body["access_token"])
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (header["alg"], header["typ"]) == ("EdDSA", "at+jwt") and header["kid"]
    assert (claims["iss"], claims["aud"]) == ("dzdesk-identity", "dzdesk")
    assert (claims["sub"], claims["tenant_id"]) == (body["user"]["id"], body["tenant"]["id"])
    assert claims["roles"] == ["admin"]
    assert 0 < claims["exp"] - claims["iat"] <= 3600


def test_every_service_verifies_the_access_token_against_the_published_jwks(identity):
    body = _signed_in(identity).json()
    principal = _verifier(identity).verify(body["access_token"])
    assert (principal.user_id, principal.tenant_id) == (body["user"]["id"], body["tenant"]["id"])


def test_the_jwks_publishes_the_current_and_the_next_key(identity):
    token = _signed_in(identity).json()["access_token"]
    keys = identity.get("/v1/auth/jwks").json()["keys"]
    assert len(keys) == 2 and all(key["alg"] == "EdDSA" and "d" not in key for key in keys)
    assert jwt.get_unverified_header(token)["kid"] in {key["kid"] for key in keys}


def test_private_signing_keys_are_stored_sealed(identity):
    _signed_in(identity)
    public = {key["kid"]: key["x"] for key in identity.get("/v1/auth/jwks").json()["keys"]}
    rows = identity.rows("SELECT kid, sealed_key FROM signing_keys")
    assert {kid for kid, _ in rows} == set(public)
    # raw Ed25519 keys are 32 bytes; sealed ones carry a format byte, a nonce and a tag
    assert all(len(bytes(sealed)) == 1 + 12 + 32 + 16 for _, sealed in rows)


def test_rotation_signs_with_the_next_key_and_keeps_old_tokens_valid(identity):
    from tests.support.amqp import service_rpc

    old = _signed_in(identity).json()
    keys_before = [key["kid"] for key in identity.get("/v1/auth/jwks").json()["keys"]]
    with service_rpc("identity", identity.cfg) as rpc:
        rotated = rpc.rotate_signing_keys()
    assert rotated["rotated"] and rotated["current"] in keys_before
    published = {key["kid"] for key in identity.get("/v1/auth/jwks").json()["keys"]}
    assert set(keys_before) | {rotated["next"]} == published
    assert identity.get("/v1/me", token=old["access_token"]).status_code == 200
    new = _signed_in(identity).json()["access_token"]
    assert jwt.get_unverified_header(new)["kid"] == rotated["current"]
    assert _verifier(identity).verify(old["access_token"]).user_id == old["user"]["id"]


def test_the_session_cookie_is_the_only_cookie_and_is_httponly_secure_lax(identity):
    response = _signed_in(identity)
    cookies = response.raw.headers.getlist("Set-Cookie")
    assert len(cookies) == 1
    attributes = [part.strip().lower() for part in cookies[0].split(";")]
    assert attributes[0].startswith("dzdesk_session=")
    assert {"httponly", "secure", "samesite=lax", "path=/v1/auth"} <= set(attributes)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_refresh_rotates_the_refresh_token_and_returns_new_tokens(identity):
    first = _signed_in(identity).json()
    refreshed = identity.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["user"]["id"] == first["user"]["id"]
    assert identity.get("/v1/me", token=body["access_token"]).status_code == 200
    stored = {row[0] for row in identity.rows("SELECT token_hash FROM refresh_tokens")}
    assert first["refresh_token"] not in stored and body["refresh_token"] not in stored


def test_a_browser_refreshes_with_its_session_cookie(identity):
    signed_in = _signed_in(identity)
    cookie = signed_in.cookies.get("dzdesk_session")
    response = requests.post(
        identity.base + "/v1/auth/refresh", cookies={"dzdesk_session": cookie}, timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.cookies.get("dzdesk_session") == response.json()["refresh_token"] != cookie


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(identity):
    first = _signed_in(identity).json()
    second = identity.post(
        "/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    ).json()
    reuse = identity.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401 and reuse.headers["Content-Type"] == PROBLEM
    latest = identity.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert latest.status_code == 401
    revoked = identity.events("identity.session_revoked")
    assert [e["data"]["reason"] for e in revoked] == ["refresh_token_reused"]
    assert identity.rows("SELECT revoked_reason FROM sessions") == [("refresh_token_reused",)]


def test_reuse_revokes_only_that_family_not_the_users_other_sessions(identity):
    sub, hd = uuid.uuid4().hex, f"{uuid.uuid4().hex[:8]}.example"
    stolen = identity.google(sub=sub, hd=hd).json()
    laptop = identity.google(sub=sub, hd=hd).json()
    identity.post("/v1/auth/refresh", json={"refresh_token": stolen["refresh_token"]})
    identity.post("/v1/auth/refresh", json={"refresh_token": stolen["refresh_token"]})
    assert (
        identity.post(
            "/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]}
        ).status_code
        == 200
    )


def test_a_made_up_refresh_token_is_a_401_problem(identity):
    for token in ("nonsense", f"{uuid.uuid4()}.{uuid.uuid4().hex}"):
        response = identity.post("/v1/auth/refresh", json={"refresh_token": token})
        assert response.status_code == 401 and response.headers["Content-Type"] == PROBLEM


def test_logout_revokes_the_session_and_clears_the_cookie(identity):
    signed_in = _signed_in(identity).json()
    response = identity.post("/v1/auth/logout", json={"refresh_token": signed_in["refresh_token"]})
    assert response.status_code == 204
    cleared = response.headers["Set-Cookie"].lower()
    assert (
        cleared.startswith("dzdesk_session=;") and "max-age=0" in cleared and "httponly" in cleared
    )
    assert (
        identity.post(
            "/v1/auth/refresh", json={"refresh_token": signed_in["refresh_token"]}
        ).status_code
        == 401
    )
    assert [e["data"]["reason"] for e in identity.events("identity.session_revoked")] == ["logout"]


def test_a_token_from_another_issuer_is_refused_by_identity(identity, token_issuer):
    headers = token_issuer.headers(tenant_id=uuid.uuid4(), roles=("admin",))
    response = requests.get(identity.base + "/v1/me", headers=headers, timeout=10)
    assert response.status_code == 401 and response.headers["Content-Type"] == PROBLEM
