"""Service accounts over HTTP against PostgreSQL and RabbitMQ: an admin creates, rotates and
revokes one; the account gets tokens by client credentials (RFC 6749 section 4.4); its tickets
and audit entries name it as `{"service_account": id}`."""

import base64
import time
import uuid
from urllib.parse import quote_plus

import psycopg
import requests

from services.audit.service import AuditService
from services.ticketing.service import TicketingService
from tests.support.amqp import service_rpc
from tests.support.waiting import wait_until

FORM = "application/x-www-form-urlencoded"


def _admin(identity):
    return identity.google(hd=f"{uuid.uuid4().hex[:8]}.example").json()


def _auth(signed_in):
    return {"Authorization": f"Bearer {signed_in['access_token']}"}


def _create(identity, admin, roles=("agent",), name="CI importer"):
    return identity.post(
        "/v1/tenant/service-accounts",
        json={"name": name, "roles": list(roles)},
        headers=_auth(admin),
    )


def _basic(client_id, secret):
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def _token_by_basic(identity, client_id, secret):
    return identity.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers=_basic(client_id, secret),
    )


def _token_in_body(identity, client_id, secret):
    return identity.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


def test_an_admin_creates_an_account_whose_secret_is_shown_once_and_stored_hashed(identity):
    admin = _admin(identity)
    response = _create(identity, admin)
    assert response.status_code == 201, response.text
    created = response.json()
    assert {"id", "client_id", "client_secret"} <= set(created)
    assert response.headers["Cache-Control"] == "no-store"
    assert created["client_id"] == f"{admin['tenant']['id']}.{created['id']}"
    shown = identity.get(
        f"/v1/tenant/service-accounts/{created['id']}", token=admin["access_token"]
    )
    assert shown.status_code == 200 and "client_secret" not in shown.json()
    (stored,) = identity.rows(
        "SELECT secret_hash FROM service_account_secrets WHERE account_id = %s", (created["id"],)
    )
    assert created["client_secret"] not in stored[0]
    for envelope in identity.events():
        assert created["client_secret"] not in str(envelope) and stored[0] not in str(envelope)
    (event,) = identity.events("identity.service_account_created")
    assert event["actor"] == {"user_id": admin["user"]["id"], "roles": ["admin"]}


def test_admin_and_privacy_officer_cannot_be_given_and_only_admins_manage_accounts(identity):
    admin = _admin(identity)
    for role in ("admin", "privacy_officer"):
        response = _create(identity, admin, roles=("agent", role))
        assert response.status_code == 422, response.text
    requester = identity.google(hd=admin["tenant"]["name"]).json()
    assert requester["user"]["roles"] == ["requester"]
    assert _create(identity, requester).status_code == 403
    assert identity.rows("SELECT count(*) FROM service_accounts")[0][0] == 0


def test_the_account_gets_a_token_by_basic_and_in_the_body_and_last_used_at_moves(identity):
    admin = _admin(identity)
    created = _create(identity, admin, roles=("agent", "requester")).json()
    assert created["last_used_at"] is None
    by_basic = _token_by_basic(identity, created["client_id"], created["client_secret"])
    assert by_basic.status_code == 200, by_basic.text
    body = by_basic.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert "refresh_token" not in body and by_basic.headers["Cache-Control"] == "no-store"
    first_use = identity.get(
        f"/v1/tenant/service-accounts/{created['id']}", token=admin["access_token"]
    ).json()["last_used_at"]
    assert first_use is not None
    time.sleep(0.05)
    in_body = _token_in_body(identity, created["client_id"], created["client_secret"])
    assert in_body.status_code == 200, in_body.text
    later = identity.get(
        f"/v1/tenant/service-accounts/{created['id']}", token=admin["access_token"]
    ).json()["last_used_at"]
    assert later > first_use
    # an ordinary access token of the tenant, its subject the account
    me = identity.get("/v1/me", token=body["access_token"])
    assert me.status_code == 404  # a program has no profile
    tenant = identity.get("/v1/tenant", token=body["access_token"])
    assert tenant.status_code == 200 and tenant.json()["id"] == admin["tenant"]["id"]


def test_a_wrong_secret_or_client_is_a_401_invalid_client_and_bad_requests_are_400(identity):
    admin = _admin(identity)
    created = _create(identity, admin).json()
    for response in (
        _token_by_basic(identity, created["client_id"], "dzs_wrong"),
        _token_in_body(identity, created["client_id"], "dzs_wrong"),
        _token_in_body(identity, f"{uuid.uuid4()}.{created['id']}", created["client_secret"]),
        identity.post("/v1/auth/token", data={"grant_type": "client_credentials"}),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    unsupported = identity.post(
        "/v1/auth/token",
        data={"grant_type": "password", "client_id": created["client_id"]},
    )
    assert (unsupported.status_code, unsupported.json()["error"]) == (
        400,
        "unsupported_grant_type",
    )
    as_json = identity.post("/v1/auth/token", json={"grant_type": "client_credentials"})
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    basic = _basic(created["client_id"], created["client_secret"])
    for body in ({"client_secret": created["client_secret"]}, {"client_id": "another"}):
        both = identity.post(
            "/v1/auth/token", data={"grant_type": "client_credentials", **body}, headers=basic
        )
        assert (both.status_code, both.json()["error"]) == (400, "invalid_request")
    repeated = identity.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": created["client_id"]},
        headers=basic,
    )
    assert repeated.status_code == 200  # the client id in the body too is no second method


def test_rotation_keeps_two_live_secrets_until_the_old_one_expires(identity):
    admin = _admin(identity)
    created = _create(identity, admin).json()
    path = f"/v1/tenant/service-accounts/{created['id']}/secrets"
    # long enough to use both on a busy machine, short enough to wait for
    rotated = identity.post(path, json={"previous_expires_in": 5}, headers=_auth(admin))
    assert rotated.status_code == 201, rotated.text
    new_secret = rotated.json()["client_secret"]
    assert len(rotated.json()["secrets"]) == 2
    for secret in (created["client_secret"], new_secret):
        assert _token_by_basic(identity, created["client_id"], secret).status_code == 200
    third = identity.post(path, json={}, headers=_auth(admin))
    assert third.status_code == 409  # two live already
    wait_until(
        lambda: (
            _token_by_basic(identity, created["client_id"], created["client_secret"]).status_code
            == 401
        ),
        timeout=20,
        what="the old secret to expire",
    )
    assert _token_by_basic(identity, created["client_id"], new_secret).status_code == 200
    added = identity.events("identity.service_account_secret_added")
    assert [event["data"]["shortened"][0]["secret_id"] for event in added] == [
        created["secrets"][0]["id"]
    ]


def test_a_revoked_account_gets_no_token_at_its_next_grant(identity):
    admin = _admin(identity)
    created = _create(identity, admin).json()
    assert _token_by_basic(identity, created["client_id"], created["client_secret"]).ok
    path = f"/v1/tenant/service-accounts/{created['id']}"
    assert identity.delete(path, headers=_auth(admin)).status_code == 204
    refused = _token_by_basic(identity, created["client_id"], created["client_secret"])
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
    assert identity.delete(path, headers=_auth(admin)).status_code == 404
    shown = identity.get(path, token=admin["access_token"]).json()
    assert shown["revoked_at"] is not None
    assert [e["event_type"] for e in identity.events() if e["stream_id"].endswith(created["id"])][
        -1
    ] == "identity.service_account_revoked"


def test_the_accounts_are_listed_page_by_page_and_only_in_their_tenant(identity):
    admin, other = _admin(identity), _admin(identity)
    ids = [_create(identity, admin, name=f"bot {n}").json()["id"] for n in range(3)]
    _create(identity, other)
    first = identity.get("/v1/tenant/service-accounts?limit=2", token=admin["access_token"]).json()
    rest = identity.get(
        f"/v1/tenant/service-accounts?limit=2&cursor={first['next_cursor']}",
        token=admin["access_token"],
    ).json()
    assert [a["id"] for a in first["items"] + rest["items"]] == ids
    assert rest["next_cursor"] is None
    assert all("client_secret" not in a for a in first["items"])
    assert (
        identity.get(
            f"/v1/tenant/service-accounts/{ids[0]}", token=other["access_token"]
        ).status_code
        == 404
    )


def test_a_service_account_is_no_data_subject(identity):
    admin = _admin(identity)
    created = _create(identity, admin).json()
    token = _token_by_basic(identity, created["client_id"], created["client_secret"]).json()
    erase = identity.delete("/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert erase.status_code == 422, erase.text
    with service_rpc("identity", identity.cfg, caller="privacy") as rpc:
        exported = rpc.export_subject(admin["tenant"]["id"], created["id"])
        purged = rpc.purge_subject(admin["tenant"]["id"], created["id"], str(uuid.uuid4()))
    assert exported["profile"] is None and exported["events"] == []
    assert set(purged["purged"].values()) == {0}
    assert _token_by_basic(identity, created["client_id"], created["client_secret"]).ok


def test_a_service_accounts_ticket_names_it_as_actor_in_ticketing_and_audit(
    identity, service_config, container_factory
):
    amqp = identity.cfg["AMQP_URI"]
    jwks = identity.base + "/v1/auth/jwks"
    ticketing_cfg, _ = service_config("ticketing", AMQP_URI=amqp, IDENTITY_JWKS_URL=jwks)
    container_factory(TicketingService, ticketing_cfg).start()
    audit_cfg, audit_urls = service_config(
        "audit", AMQP_URI=amqp, IDENTITY_JWKS_URL=jwks, AUDIT_CHECKPOINT_INTERVAL=0
    )
    container_factory(AuditService, audit_cfg).start()
    admin = _admin(identity)
    created = _create(identity, admin, roles=("requester",)).json()
    token = _token_in_body(identity, created["client_id"], created["client_secret"]).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    base = f"http://{ticketing_cfg['WEB_SERVER_ADDRESS']}"
    opened = requests.post(
        base + "/v1/tickets",
        json={"type": "incident", "title": "Nightly import failed", "description": "exit 3"},
        headers=auth,
        timeout=10,
    )
    assert opened.status_code == 201, opened.text
    ticket_id = opened.json()["id"]
    history = requests.get(base + f"/v1/tickets/{ticket_id}/history", headers=auth, timeout=10)
    assert history.status_code == 200, history.text
    assert history.json()["items"][0]["actor"] == {"service_account": created["id"]}

    def audited():
        with psycopg.connect(audit_urls["admin"]) as conn:
            rows = conn.execute(
                "SELECT envelope::jsonb FROM audit_entry WHERE tenant_id = %s"
                " AND envelope::jsonb->>'event_type' = 'ticketing.ticket_opened'",
                (admin["tenant"]["id"],),
            ).fetchall()
        return rows

    (entry,) = wait_until(audited, timeout=30, what="the ticket's audit entry")
    assert entry[0]["actor"] == {"service_account": created["id"]}
