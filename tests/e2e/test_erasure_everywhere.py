"""The privacy promise end to end: after an erasure no copy of the subject's data is readable."""
import uuid

from tests.support.waiting import wait_until

SERVICES = ("identity", "ticketing", "privacy", "audit", "ai")


def test_after_erasure_no_database_or_audit_entry_holds_the_subjects_data(suite):
    marker = uuid.uuid4().hex[:10]
    subject = {
        "name": f"Zelda Quist{marker}", "email": f"zelda.{marker}@example.test",
        "ip": "203.0.113.77", "user_agent": f"ZeldaBrowser/{marker}",
        "description": f"My laptop {marker} overheats near the window",
        "comment": f"Still hot {marker} today, please call me",
    }
    admin = suite.sign_in_google(f"admin.{marker}@example.test", name="Admin Person")
    zelda = suite.sign_in_google(subject["email"], name=subject["name"], headers={
        "User-Agent": subject["user_agent"], "X-Forwarded-For": subject["ip"]})
    other = suite.sign_in_google(f"otto.{marker}@example.test", name="Otto Other")

    mine = suite.request("POST", "/v1/tickets", zelda["access_token"], json={
        "type": "incident", "title": "Laptop overheating", "description": subject["description"]})
    assert mine.status_code == 201, mine.text
    ticket = mine.json()["id"]
    commented = suite.request("POST", f"/v1/tickets/{ticket}/comments", zelda["access_token"],
                              json={"body": subject["comment"], "public": True})
    assert commented.status_code == 201, commented.text
    kept_text = f"Otto's monitor {marker} flickers"
    others = suite.request("POST", "/v1/tickets", other["access_token"], json={
        "type": "incident", "title": "Monitor", "description": kept_text}).json()["id"]

    # before: the data is there, readable, in the services that need it
    assert subject["description"] in suite.request(
        "GET", f"/v1/tickets/{ticket}", admin["access_token"]).text
    wait_until(lambda: suite.rows("ai", "SELECT count(*) FROM ai_tickets")[0][0] >= 2)
    wait_until(lambda: suite.rows("audit", "SELECT count(*) FROM audit_entry")[0][0] >= 8)

    erasure = suite.request("DELETE", "/v1/me", zelda["access_token"])
    assert erasure.status_code == 202, erasure.text
    request_id = erasure.json()["id"]
    status = wait_until(lambda: (lambda body: body if body["status"] == "completed" else None)(
        suite.request("GET", f"/v1/privacy/requests/{request_id}", admin["access_token"]).json()))
    assert {p["name"] for p in status["participants"]} >= {"identity", "ticketing", "ai", "audit"}

    for service in SERVICES:
        dump = suite.dump(service)
        for what, value in subject.items():
            assert value not in dump, f"{what} of the erased subject is readable in {service}"

    # the others are intact, and the audit chain still verifies
    assert kept_text in suite.request("GET", f"/v1/tickets/{others}", admin["access_token"]).text
    erased_view = suite.request("GET", f"/v1/tickets/{ticket}", admin["access_token"]).json()
    assert erased_view["description"] == "[erased]"
    officer = _compliance_officer(suite, admin)
    verified = suite.request("GET", "/v1/audit/verify", officer).json()
    assert verified["ok"] is True, verified


def _compliance_officer(suite, admin):
    promoted = suite.request("PUT", f"/v1/tenant/members/{admin['user']['id']}/roles",
                             admin["access_token"], json={"roles": ["admin", "compliance_officer"]})
    assert promoted.status_code == 200, promoted.text
    return suite.request("POST", "/v1/auth/refresh",
                         json={"refresh_token": admin["refresh_token"]}).json()["access_token"]
