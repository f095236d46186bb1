"""Exports reach their subject: the subject's list, who may download, a record of each download."""

import base64
import json

from services.privacy.schemas import DELAYED, ON_LEGAL_HOLD
from tests.integration.privacy.conftest import new_id

PROBLEM = "application/problem+json"
OFFICER = ("privacy_officer",)


def export(suite, tenant, user, subject, roles=("requester",)):
    return suite.request(tenant, user, {"type": "export", "subject_id": subject}, roles)


def ready_export_filed_by_an_admin(suite):
    tenant, subject, admin = new_id(), new_id(), new_id()
    suite.seed(tenant, subject, name="Ada Lovelace", email="ada@example.com")
    request_id = export(suite, tenant, admin, subject, ("admin",))["id"]
    assert suite.wait(tenant, request_id)["status"] == "ready"
    return tenant, subject, admin, request_id


def downloaded_events(suite):
    return [
        row[0]
        for row in suite.privacy_rows(
            "SELECT envelope FROM events WHERE event_type = 'privacy.export_downloaded'"
            " ORDER BY position"
        )
    ]


def my_requests(suite, tenant, subject):
    response = suite.get("/v1/privacy/requests?subject=me", tenant, subject)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_the_subject_lists_every_request_about_them_including_one_an_admin_filed(suite):
    tenant, subject, admin, request_id = ready_export_filed_by_an_admin(suite)
    mine = export(suite, tenant, subject, subject)["id"]
    suite.wait(tenant, mine)
    other_subject = new_id()
    suite.seed(tenant, other_subject)
    export(suite, tenant, admin, other_subject, ("admin",))
    items = my_requests(suite, tenant, subject)
    assert [(i["id"], i["filed_by"]) for i in items] == [(request_id, "admin"), (mine, "you")]
    assert all(i["subject_id"] == subject and i["status"] == "ready" for i in items)
    assert admin not in json.dumps(items)


def test_the_list_pages_with_a_cursor(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    filed = [export(suite, tenant, subject, subject)["id"]]
    suite.wait(tenant, filed[0])
    filed.append(
        suite.request(
            tenant,
            subject,
            {"type": "rectification", "subject_id": subject, "changes": {"name": "Ada King"}},
        )["id"]
    )
    first = suite.get("/v1/privacy/requests?subject=me&limit=1", tenant, subject).json()
    second = suite.get(
        f"/v1/privacy/requests?subject=me&limit=1&cursor={first['next_cursor']}", tenant, subject
    ).json()
    assert [i["id"] for i in first["items"] + second["items"]] == filed
    assert second["next_cursor"] is None
    for bad in (["yesterday", "x"], 5, ["2026-01-01T00:00:00+00:00"], "%%%"):
        # unsigned, as a client would forge one (the route signs every cursor it issues)
        cursor = (
            bad
            if isinstance(bad, str)
            else base64.urlsafe_b64encode(json.dumps(bad).encode()).decode().rstrip("=")
        )
        refused = suite.get(f"/v1/privacy/requests?subject=me&cursor={cursor}", tenant, subject)
        assert refused.status_code == 400 and refused.headers["Content-Type"] == PROBLEM, bad


def test_only_officers_list_another_persons_requests_and_a_subject_must_be_named(suite):
    tenant, subject, admin, request_id = ready_export_filed_by_an_admin(suite)
    someone = suite.get(f"/v1/privacy/requests?subject={subject}", tenant, new_id())
    assert someone.status_code == 403 and someone.headers["Content-Type"] == PROBLEM
    officer = suite.get(f"/v1/privacy/requests?subject={subject}", tenant, new_id(), OFFICER)
    assert [i["id"] for i in officer.json()["items"]] == [request_id]
    unnamed = suite.get("/v1/privacy/requests", tenant, subject)
    assert unnamed.status_code == 400 and unnamed.headers["Content-Type"] == PROBLEM


def test_an_admin_who_filed_a_members_export_cannot_download_it(suite):
    tenant, _, admin, request_id = ready_export_filed_by_an_admin(suite)
    for roles in (("admin",), ("admin", "agent")):
        response = suite.get(
            f"/v1/privacy/requests/{request_id}/export?reason=curious", tenant, admin, roles
        )
        assert response.status_code == 403 and response.headers["Content-Type"] == PROBLEM
        assert b"PK" not in response.content
    assert downloaded_events(suite) == []


def test_a_privacy_officer_downloads_another_persons_export_only_by_stating_a_reason(suite):
    tenant, subject, _, request_id = ready_export_filed_by_an_admin(suite)
    officer = new_id()
    path = f"/v1/privacy/requests/{request_id}/export"
    for query in ("", "?reason=", "?reason=%20%20"):
        refused = suite.get(path + query, tenant, officer, OFFICER)
        assert refused.status_code == 400 and "reason" in refused.json()["errors"], query
    assert downloaded_events(suite) == []
    allowed = suite.get(path + "?reason=court%20order%204711", tenant, officer, OFFICER)
    assert allowed.status_code == 200 and allowed.content[:2] == b"PK"
    (event,) = downloaded_events(suite)
    assert event["actor"]["user_id"] == officer
    assert event["data"] == {
        "request_id": request_id,
        "type": "export",
        "subject_id": subject,
        "downloaded_by": officer,
        "by_subject": False,
        "role": "privacy_officer",
    }
    assert event["pii"]["reason"]["s"] == subject and "4711" not in json.dumps(event)


def test_the_subject_downloads_without_a_reason_and_sees_every_download_in_their_list(suite):
    tenant, subject, _, request_id = ready_export_filed_by_an_admin(suite)
    officer = new_id()
    path = f"/v1/privacy/requests/{request_id}/export"
    assert suite.get(path + "?reason=complaint", tenant, officer, OFFICER).status_code == 200
    assert suite.get(path, tenant, subject).status_code == 200
    assert [e["data"]["downloaded_by"] for e in downloaded_events(suite)] == [officer, subject]
    (item,) = my_requests(suite, tenant, subject)
    assert [d["by"] for d in item["downloads"]] == ["privacy_officer", "you"]
    assert officer not in json.dumps(item) and "complaint" not in json.dumps(item)
    view = suite.get(f"/v1/privacy/requests/{request_id}", tenant, new_id(), OFFICER).json()
    assert [d["downloaded_by"] for d in view["downloads"]] == [officer, subject]


def test_the_subject_sees_on_legal_hold_but_never_the_holds_reason(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    hold = suite.post(
        "/v1/privacy/holds",
        {"subject_id": subject, "reason": "litigation 2026-17"},
        tenant,
        new_id(),
        OFFICER,
    )
    assert hold.status_code == 201
    request_id = suite.request(tenant, subject, {"type": "erasure", "subject_id": subject})["id"]
    assert "litigation" in suite.wait(tenant, request_id)["reason"]  # the officer's view
    own = suite.get(f"/v1/privacy/requests/{request_id}", tenant, subject).json()
    assert own["status"] == "blocked" and own["on_legal_hold"] and own["note"] == ON_LEGAL_HOLD
    (listed,) = my_requests(suite, tenant, subject)
    for view in (own, listed):
        assert "litigation" not in json.dumps(view) and "reason" not in view


def test_the_subject_sees_a_generic_delay_never_a_participants_error_text(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    suite.stop_participant("notes")
    request_id = export(suite, tenant, subject, subject)["id"]
    officer_view = suite.wait(
        tenant, request_id, until=lambda v: any(p["failures"] for p in v["participants"])
    )
    error = next(p["last_error"] for p in officer_view["participants"] if p["last_error"])
    own = suite.get(f"/v1/privacy/requests/{request_id}", tenant, subject).json()
    assert own["note"] == DELAYED
    assert error not in json.dumps(own) and "last_error" not in json.dumps(own)
    assert all(set(p) == {"name", "step", "done_at"} for p in own["participants"])
