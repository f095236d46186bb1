"""Sign-in, tickets and the audit trail through the nginx gateway, as an API consumer sees them."""

import base64
import uuid

PROBLEM = "application/problem+json"


def test_only_the_documented_prefixes_reach_a_service(suite):
    assert suite.request("GET", "/v1/auth/jwks").status_code == 200
    for path in ("/health/ready", "/metrics", "/v1/nothing", "/v1/authx"):
        response = suite.request("GET", path)
        assert (response.status_code, response.headers["Content-Type"]) == (404, PROBLEM), path


def test_the_request_id_of_the_gateway_is_the_correlation_id_of_the_events(suite):
    request_id = f"req-{uuid.uuid4().hex}"
    suite.sign_in_google("ada@example.test", headers={"X-Request-ID": request_id})
    rows = suite.rows("identity", "SELECT envelope->>'correlation_id' FROM events")
    assert rows and {row[0] for row in rows} == {request_id}


def test_an_admin_signs_in_opens_a_ticket_and_the_requester_sees_only_their_own(suite):
    admin = suite.sign_in_google("admin@example.test")
    assert admin["user"]["roles"] == ["admin"]
    requester = suite.sign_in_google("req@example.test")
    assert requester["user"]["roles"] == ["requester"]
    assert requester["tenant"]["id"] == admin["tenant"]["id"]

    created = suite.request(
        "POST",
        "/v1/tickets",
        requester["access_token"],
        json={
            "type": "incident",
            "title": "VPN drops",
            "description": "Since Monday the VPN drops.",
        },
    )
    assert created.status_code == 201, created.text
    ticket = created.json()["id"]
    assert created.headers["Location"].endswith(ticket)

    seen_by_admin = suite.request("GET", f"/v1/tickets/{ticket}", admin["access_token"])
    assert seen_by_admin.status_code == 200
    moved = suite.request(
        "POST",
        f"/v1/tickets/{ticket}/transitions",
        admin["access_token"],
        json={"to": "in_progress"},
    )
    assert moved.status_code == 200, moved.text

    other = suite.sign_in_google("someone@other.test", hd="other.test")
    assert suite.request("GET", f"/v1/tickets/{ticket}", other["access_token"]).status_code == 404


def test_a_compliance_officer_replays_and_verifies_the_tenant_log(suite):
    admin = suite.sign_in_google("boss@example.test")
    promoted = suite.request(
        "PUT",
        f"/v1/tenant/members/{admin['user']['id']}/roles",
        admin["access_token"],
        json={"roles": ["admin", "compliance_officer"]},
    )
    assert promoted.status_code == 200, promoted.text
    officer = suite.request(
        "POST", "/v1/auth/refresh", json={"refresh_token": admin["refresh_token"]}
    ).json()
    suite.request(
        "POST",
        "/v1/tickets",
        officer["access_token"],
        json={"type": "incident", "title": "Printer", "description": "Jammed."},
    )
    import time

    deadline = time.monotonic() + 15
    while True:
        events = suite.request("GET", "/v1/audit/events?limit=200", officer["access_token"])
        assert events.status_code == 200, events.text
        types = {item["envelope"]["event_type"] for item in events.json()["items"]}
        if {"identity.tenant_created", "ticketing.ticket_opened"} <= types:
            break
        assert time.monotonic() < deadline, types
        time.sleep(0.2)
    verified = suite.request("GET", "/v1/audit/verify", officer["access_token"]).json()
    assert verified["ok"] is True and verified["first_bad_seq"] is None


def test_the_services_take_only_tokens_identity_signed_at_sign_in(suite, token_issuer):
    # every token of these tests comes from sign-in through the gateway: one minted with the
    # test signing key, same issuer, audience and claims, is refused by every service
    admin = suite.sign_in_google(f"admin@{uuid.uuid4().hex[:8]}.example.test")
    minted = token_issuer.token(
        tenant_id=admin["tenant"]["id"],
        user_id=admin["user"]["id"],
        roles=("admin", "compliance_officer"),
    )
    for path in ("/v1/me", "/v1/tickets", "/v1/audit/events", "/v1/tenant/members"):
        assert suite.request("GET", path, minted).status_code == 401, path
        assert suite.request("GET", path, admin["access_token"]).status_code != 401, path


def test_a_service_account_gets_a_token_and_opens_a_ticket_through_the_gateway(suite):
    admin = suite.sign_in_google("admin@accounts.test", hd="accounts.test")
    created = suite.request(
        "POST",
        "/v1/tenant/service-accounts",
        admin["access_token"],
        json={"name": "Monitoring bridge", "roles": ["agent"]},
    )
    assert created.status_code == 201, created.text
    account = created.json()
    basic = base64.b64encode(f"{account['client_id']}:{account['client_secret']}".encode())
    granted = suite.request(
        "POST",
        "/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + basic.decode()},
    )
    assert granted.status_code == 200, granted.text
    token = granted.json()["access_token"]
    assert granted.headers["RateLimit-Policy"] == '"per-client";q=20;w=1'

    opened = suite.request(
        "POST",
        "/v1/tickets",
        token,
        json={"type": "incident", "title": "Disk 91% on db-2", "description": "from the bridge"},
    )
    assert opened.status_code == 201, opened.text
    assert opened.headers["RateLimit-Policy"] == '"per-token";q=20;w=1'
    ticket = opened.json()["id"]
    history = suite.request("GET", f"/v1/tickets/{ticket}/history", admin["access_token"])
    assert history.json()["items"][0]["actor"] == {"service_account": account["id"]}

    # a program is nobody's data subject
    refused = suite.request(
        "POST",
        "/v1/privacy/requests",
        admin["access_token"],
        json={"type": "export", "subject_id": account["id"]},
    )
    assert refused.status_code == 422, refused.text
    revoked = suite.request(
        "DELETE", f"/v1/tenant/service-accounts/{account['id']}", admin["access_token"]
    )
    assert revoked.status_code == 204
    again = suite.request(
        "POST",
        "/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + basic.decode()},
    )
    assert (again.status_code, again.json()["error"]) == (401, "invalid_client")
