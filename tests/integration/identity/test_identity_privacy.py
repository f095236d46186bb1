"""Identity's personal data: sealed device info, no plaintext in events, export, purge,
rectify, correlation."""

import json
import uuid

from shared.crypto import ERASED
from tests.support.amqp import service_rpc

USER_AGENT = "Mozilla/5.0 (X11; DZDeskTest/" + uuid.uuid4().hex[:6] + ")"


def _sign_in(identity, name="Grace Hopper", **kwargs):
    sub, hd = uuid.uuid4().hex, f"{uuid.uuid4().hex[:8]}.example"
    email = f"grace-{uuid.uuid4().hex[:6]}@{hd}"
    token = identity.provider.mint_google(sub, email, hd=hd, name=name)
    response = identity.post("/v1/auth/google", json={"id_token": token}, **kwargs)
    assert response.status_code == 200, response.text
    return response.json(), token


def test_the_events_table_holds_no_email_name_ip_or_user_agent_in_plaintext(identity):
    body, _ = _sign_in(
        identity, headers={"User-Agent": USER_AGENT, "X-Forwarded-For": "198.51.100.23"}
    )
    raw = json.dumps([row[0] for row in identity.rows("SELECT envelope FROM events")])
    for secret in (body["user"]["email"], "Grace", "Hopper", "198.51.100.23", "DZDeskTest"):
        assert secret not in raw
    (signed_in,) = identity.events("identity.user_signed_in")
    assert set(signed_in["pii"]) == {"user_agent", "ip_address"}
    assert all("c" in field for field in signed_in["pii"].values())


def test_the_ip_is_the_gateways_own_forwarded_entry_not_what_the_client_claims(identity):
    headers = {"User-Agent": USER_AGENT, "X-Forwarded-For": "203.0.113.66, 198.51.100.7"}
    body, _ = _sign_in(identity, headers=headers)
    with service_rpc("identity", identity.cfg) as rpc:
        exported = rpc.export_subject(body["tenant"]["id"], body["user"]["id"])
    (sign_in,) = [e for e in exported["events"] if e["event_type"] == "identity.user_signed_in"]
    assert sign_in["personal_data"] == {"user_agent": USER_AGENT, "ip_address": "198.51.100.7"}


def test_an_export_holds_the_profile_sessions_and_decrypted_events(identity):
    body, _ = _sign_in(identity)
    with service_rpc("identity", identity.cfg) as rpc:
        exported = rpc.export_subject(body["tenant"]["id"], body["user"]["id"])
    assert exported["profile"]["email"] == body["user"]["email"]
    assert exported["external_identity"] == {"provider": "google"}
    assert len(exported["sessions"]) == 1
    (joined,) = [e for e in exported["events"] if e["event_type"] == "identity.user_joined"]
    assert joined["personal_data"]["name"] == "Grace Hopper"
    json.dumps(exported)


def test_purge_erases_the_profile_revokes_sessions_and_unlinks_the_account(identity):
    body, token = _sign_in(identity)
    tenant, user = body["tenant"]["id"], body["user"]["id"]
    request_id = str(uuid.uuid4())
    with service_rpc("identity", identity.cfg) as rpc:
        receipt = rpc.purge_subject(tenant, user, request_id)
        again = rpc.purge_subject(tenant, user, request_id)
        listed = rpc.get_users(tenant, [user])
    assert receipt == {
        "service": "identity",
        "request_id": request_id,
        "purged": {"profile": 1, "sessions": 1, "external_identities": 1, "memberships": 1},
    }
    assert set(again["purged"].values()) == {0}
    assert listed == [{"id": user, "name": ERASED, "email": ERASED, "roles": []}]
    assert (
        identity.post("/v1/auth/refresh", json={"refresh_token": body["refresh_token"]}).status_code
        == 401
    )
    raw = json.dumps(identity.rows("SELECT * FROM users"), default=str)
    assert body["user"]["email"] not in raw and "Grace" not in raw
    returning = identity.post("/v1/auth/google", json={"id_token": token}).json()
    # its last member gone, the organization was released: the return founds a new tenant
    assert returning["user"]["id"] != user and returning["tenant"]["id"] != tenant
    assert returning["user"]["roles"] == ["admin"]


def test_rectify_re_encrypts_the_new_name_in_an_event_and_updates_the_profile(identity):
    body, _ = _sign_in(identity)
    tenant, user = body["tenant"]["id"], body["user"]["id"]
    with service_rpc("identity", identity.cfg) as rpc:
        result = rpc.rectify_subject(tenant, user, {"name": "Grace B. Hopper"})
    assert result["rectified"] == ["name"]
    me = identity.get("/v1/me", token=body["access_token"]).json()
    assert me["name"] == "Grace B. Hopper" and me["email"] == body["user"]["email"]
    (rectified,) = identity.events("identity.user_profile_rectified")
    assert "Grace" not in json.dumps(rectified) and set(rectified["pii"]) == {"name"}


def test_every_event_of_one_sign_in_carries_the_requests_correlation_id(identity):
    request_id = "req-" + uuid.uuid4().hex
    _sign_in(identity, headers={"X-Request-ID": request_id})
    events = identity.events()
    assert [e["event_type"] for e in events] == [
        "identity.tenant_created",
        "identity.user_joined",
        "identity.user_signed_in",
    ]
    assert {e["correlation_id"] for e in events} == {request_id}


def test_the_tables_any_tenant_may_read_hold_only_keyed_hashes_and_opaque_ids(identity):
    # the exceptions to tenant isolation (tests/support/isolation.py) hold no personal data
    from tests.support.isolation import DECLARED_COLUMNS, OPEN_POLICIES

    sub, hd, tid, oid = (
        uuid.uuid4().hex,
        f"{uuid.uuid4().hex[:8]}.example",
        *(str(uuid.uuid4()) for _ in range(2)),
    )
    email = f"ada-{uuid.uuid4().hex[:6]}@{hd}"
    # no name made of hex digits only ("Ada"), which a hash may hold by chance
    token = identity.provider.mint_google(sub, email, hd=hd, name="Ines Lovelace")
    assert identity.post("/v1/auth/google", json={"id_token": token}).status_code == 200
    assert identity.microsoft(tid=tid, oid=oid, email=f"ms-{email}").status_code == 200
    sent = (sub, hd, tid, oid, email, "Ines", "Lovelace")
    open_tables = {table for service, table, _ in OPEN_POLICIES if service == "identity"}
    assert open_tables
    for table in open_tables:
        rows = identity.rows(f"SELECT * FROM {table}")
        assert rows, table
        text = json.dumps([list(map(str, row)) for row in rows]).lower()
        assert not [value for value in sent if value.lower() in text], table
        columns = identity.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
        )
        assert {column for (column,) in columns} == DECLARED_COLUMNS[("identity", table)]
        hashes = [row[0] for row in rows]  # the first column is the lookup hash
        assert all(len(value) == 64 and set(value) <= set("0123456789abcdef") for value in hashes)
