"""The export saga: every participant's data about the subject, nothing about others, a bundle
that verifies."""

import io
import json
import zipfile

from services.privacy.bundle import verify_bundle
from tests.integration.privacy.conftest import new_id


def export(suite, tenant, user, subject, roles=("requester",)):
    return suite.request(tenant, user, {"type": "export", "subject_id": subject}, roles)


def test_an_export_holds_every_participants_data_about_the_subject_and_verifies(suite):
    tenant, subject, other = new_id(), new_id(), new_id()
    suite.seed(tenant, subject, name="Ada Lovelace", email="ada@example.com")
    suite.seed(tenant, other, name="Alan Turing", email="alan@example.com")
    request_id = export(suite, tenant, subject, subject)["id"]
    assert suite.wait(tenant, request_id)["status"] == "ready"
    response = suite.get(f"/v1/privacy/requests/{request_id}/export", tenant, subject)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/zip"
    manifest = verify_bundle(response.content)
    assert {f["service"] for f in manifest["files"]} == {"profiles", "notes", "privacy"}
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    for name in ("profiles", "notes"):
        part = json.loads(archive.read(f"{name}.json"))
        assert part["profile"] == {"name": "Ada Lovelace", "email": "ada@example.com"}
        assert part["notes"] == ["note 0 by Ada Lovelace", "note 1 by Ada Lovelace"]
    everything = b"".join(archive.read(n) for n in archive.namelist())
    assert b"Alan" not in everything and other.encode() not in everything


def test_the_stored_bundle_and_parts_hold_no_plaintext(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject, name="Ada Lovelace", email="ada@example.com")
    suite.wait(tenant, export(suite, tenant, subject, subject)["id"])
    (blob,) = suite.privacy_rows("SELECT blob FROM export_bundles")[0]
    assert b"Ada" not in bytes(blob) and b"PK" not in bytes(blob)[:4]


def test_nobody_else_without_an_officers_role_may_download_or_even_see_an_export(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    request_id = export(suite, tenant, subject, subject)["id"]
    suite.wait(tenant, request_id)
    response = suite.get(f"/v1/privacy/requests/{request_id}/export", tenant, new_id(), ("agent",))
    assert response.status_code == 404


def test_an_export_that_is_still_collecting_is_not_ready(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    suite.stop_participant("notes")
    request_id = export(suite, tenant, subject, subject)["id"]
    suite.wait(tenant, request_id, until=lambda v: v["status"] == "collecting")
    response = suite.get(f"/v1/privacy/requests/{request_id}/export", tenant, subject)
    assert response.status_code == 409


def test_an_expired_export_is_gone(make_suite):
    suite = make_suite(PRIVACY_EXPORT_TTL_SECONDS=0.5)
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    request_id = export(suite, tenant, subject, subject)["id"]
    suite.wait(tenant, request_id, until=lambda v: v["status"] == "expired")
    response = suite.get(f"/v1/privacy/requests/{request_id}/export", tenant, subject)
    assert response.status_code == 410
    assert suite.privacy_rows("SELECT 1 FROM export_bundles") == []


def test_erasing_a_subject_deletes_their_ready_export(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    export_id = export(suite, tenant, subject, subject)["id"]
    suite.wait(tenant, export_id)
    erasure = suite.request(tenant, subject, {"type": "erasure", "subject_id": subject})
    suite.wait(tenant, erasure["id"])
    response = suite.get(f"/v1/privacy/requests/{export_id}/export", tenant, subject)
    assert response.status_code == 410
