"""The webhooks API: admins of a tenant only, another tenant's resources are not there, and
bad input is a problem document, never a 500."""

import uuid

import pytest


def test_another_tenants_webhooks_and_deliveries_are_invisible(start_integrations):
    rig = start_integrations()
    tenant, other = str(uuid.uuid4()), str(uuid.uuid4())
    webhook_id, _ = rig.subscribe(tenant, "/mine")
    rig.ticket_opened(tenant)
    (delivery,) = rig.wait_until(lambda: rig.deliveries(tenant, webhook_id), what="a delivery")
    rig.wait_until(lambda: rig.receiver.at("/mine"), what="the delivery sent")

    assert rig.call("GET", "/v1/webhooks", other).json() == {"items": [], "next_cursor": None}
    assert rig.call("GET", "/v1/events", other).json()["items"] == []
    base = f"/v1/webhooks/{webhook_id}"
    for method, path, body in (
        ("GET", base, None),
        ("PATCH", base, {"description": "taken"}),
        ("DELETE", base, None),
        ("POST", f"{base}/test", None),
        ("GET", f"{base}/deliveries", None),
        ("GET", f"{base}/deliveries/{delivery['id']}", None),
        ("POST", f"{base}/deliveries/{delivery['id']}/redeliver", None),
    ):
        answer = rig.call(method, path, other, json=body)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.headers["Content-Type"] == "application/problem+json"
    assert rig.call("GET", base, tenant).json()["description"] == ""
    assert len(rig.deliveries(tenant, webhook_id)) == 1


def test_only_admins_manage_webhooks(start_integrations):
    rig = start_integrations()
    tenant = str(uuid.uuid4())
    for roles in (("agent",), ("requester",), ("privacy_officer",)):
        assert rig.call("GET", "/v1/webhooks", tenant, roles=roles).status_code == 403
        answer = rig.call(
            "POST",
            "/v1/webhooks",
            tenant,
            roles=roles,
            json={"url": rig.receiver.url("/x"), "events": ["*"]},
        )
        assert answer.status_code == 403
    assert rig.call("GET", "/v1/webhooks", tenant, headers={"Authorization": ""}).status_code == 401


def test_webhooks_list_change_and_go(start_integrations):
    rig = start_integrations()
    tenant = str(uuid.uuid4())
    ids = [rig.subscribe(tenant, f"/w{i}")[0] for i in range(3)]
    first = rig.call("GET", "/v1/webhooks?limit=2", tenant).json()
    assert [w["id"] for w in first["items"]] == ids[:2]
    rest = rig.call("GET", f"/v1/webhooks?limit=2&cursor={first['next_cursor']}", tenant).json()
    assert [w["id"] for w in rest["items"]] == ids[2:] and rest["next_cursor"] is None

    changed = rig.call(
        "PATCH",
        f"/v1/webhooks/{ids[0]}",
        tenant,
        json={"events": ["ticketing.ticket_opened", "identity.*"], "description": "CRM sync"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["events"] == ["ticketing.ticket_opened", "identity.*"]
    assert rig.call("DELETE", f"/v1/webhooks/{ids[1]}", tenant).status_code == 204
    assert rig.call("GET", f"/v1/webhooks/{ids[1]}", tenant).status_code == 404
    types = rig.call("GET", "/v1/webhooks/event-types", tenant).json()["items"]
    assert "ticketing.ticket_opened" in types and "integrations.webhook_disabled" in types
    recorded = rig.sql(
        "SELECT event_type FROM events WHERE tenant_id = %s ORDER BY position", tenant
    )
    assert [row[0] for row in recorded] == [
        *["integrations.webhook_created"] * 3,
        "integrations.webhook_updated",
        "integrations.webhook_deleted",
    ]


@pytest.mark.parametrize(
    "body, status",
    [
        ({"url": "http://127.0.0.1/hook", "events": ["*"]}, 422),
        ({"url": "https://10.0.0.1/hook", "events": ["*"]}, 422),
        ({"url": "https://169.254.169.254/latest", "events": ["*"]}, 422),
        ({"url": "https://user:pw@127.0.0.1/hook", "events": ["*"]}, 422),
        ({"url": "not a url", "events": ["*"]}, 422),
        ({"url": "https://127.0.0.1/hook", "events": ["ticketing.nonsense"]}, 400),
        ({"url": "https://127.0.0.1/hook", "events": []}, 400),
        ({"url": "https://127.0.0.1/hook", "events": "*"}, 400),
        ({"url": "https://127.0.0.1/hook"}, 400),
        ({"events": ["*"]}, 400),
        ({"url": "https://127.0.0.1/hook", "events": ["*"], "description": "x" * 501}, 400),
        ({"url": "https://127.0.0.1/hook", "events": ["*"], "extra": 1}, 400),
        ([], 400),
    ],
)
def test_a_bad_webhook_body_is_a_problem(start_integrations, body, status):
    rig = start_integrations()
    answer = rig.call("POST", "/v1/webhooks", str(uuid.uuid4()), json=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_bad_paths_bodies_and_queries_are_problems(start_integrations):
    rig = start_integrations()
    tenant = str(uuid.uuid4())
    webhook_id, _ = rig.subscribe(tenant, "/w")
    for method, path, kwargs, status in (
        ("GET", "/v1/webhooks/not-a-uuid", {}, 404),
        ("GET", f"/v1/webhooks/{webhook_id}/deliveries/not-a-uuid", {}, 404),
        ("POST", f"/v1/webhooks/{webhook_id}/deliveries/{uuid.uuid4()}/redeliver", {}, 404),
        ("PATCH", f"/v1/webhooks/{webhook_id}", {"json": {}}, 400),
        ("PATCH", f"/v1/webhooks/{webhook_id}", {"json": {"enabled": "maybe"}}, 400),
        ("PATCH", f"/v1/webhooks/{webhook_id}", {"json": {"url": "http://x.test/"}}, 422),
        ("PATCH", f"/v1/webhooks/{webhook_id}", {"data": b"{", "headers": _json}, 400),
        ("POST", "/v1/webhooks", {"data": b"url=x"}, 415),
        ("GET", "/v1/webhooks?limit=0", {}, 400),
        ("GET", "/v1/webhooks?cursor=forged.x", {}, 400),
        ("GET", f"/v1/webhooks/{webhook_id}/deliveries?cursor=forged.x", {}, 400),
    ):
        answer = rig.call(method, path, tenant, **kwargs)
        assert answer.status_code == status, (method, path, answer.text)
        assert answer.headers["Content-Type"] == "application/problem+json"
    rig.call("PATCH", f"/v1/webhooks/{webhook_id}", tenant, json={"enabled": False})
    assert rig.call("POST", f"/v1/webhooks/{webhook_id}/test", tenant).status_code == 409


_json = {"Content-Type": "application/json"}


def test_the_openapi_document_lists_the_routes(start_integrations):
    rig = start_integrations()
    document = rig.http.get(rig.base + "/openapi.json", timeout=10).json()
    assert {
        "/v1/webhooks",
        "/v1/webhooks/{webhook_id}",
        "/v1/webhooks/{webhook_id}/test",
        "/v1/webhooks/{webhook_id}/deliveries",
        "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        "/v1/events",
    } <= set(document["paths"])
    assert "201" in document["paths"]["/v1/webhooks"]["post"]["responses"]
