"""Access, portability and rectification across the real services, through the gateway."""

import io
import json
import uuid
import zipfile

from services.privacy.bundle import verify_bundle
from tests.support.waiting import wait_until, wait_until_completed


def test_an_export_holds_every_services_data_about_the_subject_and_nothing_of_others(suite):
    marker = uuid.uuid4().hex[:8]
    suite.sign_in_google(f"admin.{marker}@example.test", name="Admin Person")
    me = suite.sign_in_google(f"mia.{marker}@example.test", name=f"Mia {marker}")
    other = suite.sign_in_google(f"olaf.{marker}@example.test", name=f"Olaf {marker}")
    mine = f"Mia's scanner {marker} jams"
    theirs = f"Olaf's phone {marker} is cracked"
    for who, text in ((me, mine), (other, theirs)):
        created = suite.request(
            "POST",
            "/v1/tickets",
            who["access_token"],
            json={"type": "incident", "title": "Broken", "description": text},
        )
        assert created.status_code == 201, created.text
    wait_until(lambda: suite.rows("ai", "SELECT count(*) FROM ai_tickets")[0][0] >= 2)

    filed = suite.request(
        "POST",
        "/v1/privacy/requests",
        me["access_token"],
        json={"type": "export", "subject_id": me["user"]["id"]},
    )
    assert filed.status_code == 202, filed.text
    request_id = filed.json()["id"]
    wait_until_completed(suite, request_id, me["access_token"], done=("ready",))
    download = suite.request("GET", f"/v1/privacy/requests/{request_id}/export", me["access_token"])
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/zip"

    manifest = verify_bundle(download.content)  # every file's SHA-256 as the manifest says
    files = zipfile.ZipFile(io.BytesIO(download.content))
    parts = {name: files.read(name).decode() for name in files.namelist()}
    assert {
        "identity.json",
        "ticketing.json",
        "ai.json",
        "audit.json",
        "privacy.json",
        "manifest.json",
    } <= set(parts)
    assert me["user"]["email"] in parts["identity.json"]
    assert mine in parts["ticketing.json"]
    assert mine in parts["ai.json"]
    everything = json.dumps(parts)
    assert theirs not in everything and other["user"]["email"] not in everything
    assert manifest["subject_id"] == me["user"]["id"]


def test_a_rectified_name_and_email_show_in_the_read_models(suite):
    marker = uuid.uuid4().hex[:8]
    admin = suite.sign_in_google(f"boss.{marker}@example.test", name="Boss Person")
    me = suite.sign_in_google(f"rita.{marker}@example.test", name="Rita Wrongname")
    filed = suite.request(
        "POST",
        "/v1/privacy/requests",
        me["access_token"],
        json={
            "type": "rectification",
            "subject_id": me["user"]["id"],
            "changes": {"name": "Rita Rightname", "email": f"rita.right.{marker}@example.test"},
        },
    )
    assert filed.status_code == 202, filed.text
    request_id = filed.json()["id"]
    wait_until_completed(suite, request_id, me["access_token"])
    profile = suite.request("GET", "/v1/me", me["access_token"]).json()
    assert (profile["name"], profile["email"]) == (
        "Rita Rightname",
        f"rita.right.{marker}@example.test",
    )
    members = suite.request("GET", "/v1/tenant/members", admin["access_token"]).json()["items"]
    assert {"Rita Rightname"} == {m["name"] for m in members if m["id"] == me["user"]["id"]}
    assert "Rita Wrongname" not in suite.dump("identity")


def test_a_user_of_one_tenant_cannot_file_a_request_about_a_subject_of_another(suite):
    admin_a = suite.sign_in_google("admin@a.test", hd="a.test")
    someone_b = suite.sign_in_google("someone@b.test", hd="b.test")
    response = suite.request(
        "POST",
        "/v1/privacy/requests",
        admin_a["access_token"],
        json={"type": "erasure", "subject_id": someone_b["user"]["id"]},
    )
    assert response.status_code in (403, 404)
    assert response.headers["Content-Type"] == "application/problem+json"


def _promoted(suite, admin, member, roles):
    changed = suite.request(
        "PUT",
        f"/v1/tenant/members/{member['user']['id']}/roles",
        admin["access_token"],
        json={"roles": roles},
    )
    assert changed.status_code == 200, changed.text
    return suite.request(
        "POST", "/v1/auth/refresh", json={"refresh_token": member["refresh_token"]}
    ).json()["access_token"]


def test_an_export_an_admin_files_reaches_the_member_and_every_download_reaches_the_audit_log(
    suite,
):
    marker = uuid.uuid4().hex[:8]
    admin = suite.sign_in_google(f"boss.{marker}@example.test", name="Boss Person")
    member = suite.sign_in_google(f"mia.{marker}@example.test", name=f"Mia {marker}")
    officer = _promoted(
        suite, admin, suite.sign_in_google(f"po.{marker}@example.test"), ["privacy_officer"]
    )
    compliance = _promoted(suite, admin, admin, ["admin", "compliance_officer"])
    filed = suite.request(
        "POST",
        "/v1/privacy/requests",
        admin["access_token"],
        json={"type": "export", "subject_id": member["user"]["id"]},
    )
    assert filed.status_code == 202, filed.text
    request_id = filed.json()["id"]
    wait_until_completed(suite, request_id, member["access_token"], done=("ready",))
    path = f"/v1/privacy/requests/{request_id}/export"

    assert suite.request("GET", path + "?reason=curious", compliance).status_code == 403
    assert suite.request("GET", path, officer).status_code == 400
    allowed = suite.request("GET", path + "?reason=subject%20access%20complaint", officer)
    assert allowed.status_code == 200, allowed.text
    assert verify_bundle(allowed.content)["subject_id"] == member["user"]["id"]
    mine = suite.request("GET", "/v1/privacy/requests?subject=me", member["access_token"]).json()
    (listed,) = mine["items"]
    assert listed["id"] == request_id and listed["filed_by"] == "admin"
    assert [d["by"] for d in listed["downloads"]] == ["privacy_officer"]

    (logged,) = wait_until(
        lambda: suite.request(
            "GET", "/v1/audit/events?event_type=privacy.export_downloaded", compliance
        ).json()["items"],
        what="the download in the audit log",
    )
    envelope = logged["envelope"]
    assert envelope["data"]["request_id"] == request_id
    assert envelope["actor"]["roles"] == ["privacy_officer"]
    assert envelope["data"]["downloaded_by"] == envelope["actor"]["user_id"] != member["user"]["id"]
    assert "complaint" not in json.dumps(logged)
