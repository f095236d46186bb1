"""Files on tickets through the API, stored in a real Azurite: upload, list, download, delete;
who sees which file; types found from the bytes; limits; the scanner's verdict."""

import base64
import os
import uuid

import psycopg
import pytest
import requests
from azure.storage.blob import BlobServiceClient

from services.ticketing.blobs import blob_name, container_name
from services.ticketing.scanning import EICAR
from tests.integration.ticketing.conftest import TicketingApi
from tests.support.amqp import service_rpc

PDF = b"%PDF-1.7\n" + os.urandom(300_000) + b"\n%%EOF\n"
LIMIT = 400_000


@pytest.fixture
def files(ticketing_factory):
    api, cfg, urls, container = ticketing_factory(
        TICKETING_ATTACHMENT_MAX_BYTES=LIMIT,
        TICKETING_ATTACHMENT_SCANNER="services.ticketing.scanning:EicarScanner",
    )
    return api, cfg, urls


def upload(api, who, ticket_id, data, name="report.pdf", **params):
    return requests.post(
        f"{api.base}/v1/tickets/{ticket_id}/attachments",
        params={"filename": name, **params},
        data=data,
        headers=api.headers(who, **{"Content-Type": "text/plain"}),
        timeout=30,
    )


def blob_bytes(cfg, tenant_id, ticket_id, attachment_id):
    service = BlobServiceClient.from_connection_string(cfg["TICKETING_BLOB_CONNECTION_STRING"])
    blob = service.get_blob_client(container_name(tenant_id), blob_name(ticket_id, attachment_id))
    return blob.download_blob().readall() if blob.exists() else None


def rows(urls, query):
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(query).fetchall()


def test_a_file_is_uploaded_listed_downloaded_and_deleted_encrypted_at_rest(files):
    api, cfg, _ = files
    requester, agent = api.user("requester"), api.user("agent")
    ticket = api.open(requester)
    created = upload(api, requester, ticket["id"], PDF, name="Übersicht März.pdf")
    assert created.status_code == 201, created.text
    file = created.json()
    # the type comes from the bytes, not the client's Content-Type
    assert (file["content_type"], file["size"], file["scan"]) == (
        "application/pdf",
        len(PDF),
        "clean",
    )
    listed = api.call("GET", f"/v1/tickets/{ticket['id']}/attachments", agent).json()["items"]
    assert [item["file_name"] for item in listed] == ["Übersicht März.pdf"]
    got = api.call("GET", f"/v1/tickets/{ticket['id']}/attachments/{file['id']}", agent)
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''%C3%9Cbersicht%20M%C3%A4rz.pdf" in got.headers["Content-Disposition"]
    stored = blob_bytes(cfg, api.tenant_id, ticket["id"], file["id"])
    assert stored is not None and PDF[:1000] not in stored and b"PDF" not in stored[:100]
    assert "Übersicht".encode() not in stored
    # an event on the ticket's stream, its file name sealed
    history = api.call("GET", f"/v1/tickets/{ticket['id']}/history", agent).json()["items"]
    added = [e for e in history if e["type"] == "ticketing.attachment_added"]
    assert added and added[0]["fields"] == {"file_name": "Übersicht März.pdf"}
    other = api.call(
        "DELETE", f"/v1/tickets/{ticket['id']}/attachments/{file['id']}", api.user("requester")
    )
    assert other.status_code == 404  # not their ticket: it does not exist for them
    gone = api.call("DELETE", f"/v1/tickets/{ticket['id']}/attachments/{file['id']}", agent)
    assert gone.status_code == 204
    assert (
        api.call("GET", f"/v1/tickets/{ticket['id']}/attachments/{file['id']}", agent).status_code
        == 404
    )
    assert blob_bytes(cfg, api.tenant_id, ticket["id"], file["id"]) is None
    history = api.call("GET", f"/v1/tickets/{ticket['id']}/history", agent).json()["items"]
    assert history[-1]["type"] == "ticketing.attachment_removed"
    assert history[-1]["actor"]["user_id"] == agent["user_id"]
    assert history[-1]["fields"] == {"file_name": "Übersicht März.pdf"}


def test_files_of_internal_comments_are_hidden_from_the_requester(files):
    api, _, _ = files
    requester, agent = api.user("requester"), api.user("agent")
    ticket = api.open(requester)
    note = api.call(
        "POST", f"/v1/tickets/{ticket['id']}/comments", agent, {"body": "logs", "public": False}
    ).json()
    internal = upload(
        api, agent, ticket["id"], b"server log\n", name="log.txt", comment_id=note["id"]
    )
    public = upload(api, requester, ticket["id"], b"my screenshot text\n", name="mine.txt")
    assert (internal.status_code, public.status_code) == (201, 201), internal.text
    assert internal.json()["public"] is False
    seen = api.call("GET", f"/v1/tickets/{ticket['id']}/attachments", requester).json()["items"]
    assert [item["file_name"] for item in seen] == ["mine.txt"]
    history = api.call("GET", f"/v1/tickets/{ticket['id']}/history", requester).text
    assert "log.txt" not in history and internal.json()["id"] not in history
    assert "log.txt" in api.call("GET", f"/v1/tickets/{ticket['id']}/history", agent).text
    hidden = f"/v1/tickets/{ticket['id']}/attachments/{internal.json()['id']}"
    assert api.call("GET", hidden, requester).status_code == 404
    assert api.call("GET", hidden, agent).content == b"server log\n"
    # nor may a requester hang a file on a comment they cannot see
    onto = upload(api, requester, ticket["id"], b"x\n", name="x.txt", comment_id=note["id"])
    assert onto.status_code == 422
    # the uploader may remove their own file
    mine = f"/v1/tickets/{ticket['id']}/attachments/{public.json()['id']}"
    assert api.call("DELETE", mine, requester).status_code == 204


def test_another_tenant_sees_no_file(files):
    api, _, _ = files
    requester = api.user("requester")
    ticket = api.open(requester)
    file = upload(api, requester, ticket["id"], b"hello\n", name="a.txt").json()
    stranger_api = api.other_tenant()
    stranger = stranger_api.user("agent")
    base = f"/v1/tickets/{ticket['id']}/attachments"
    answers = [
        stranger_api.call("GET", base, stranger).status_code,
        stranger_api.call("GET", f"{base}/{file['id']}", stranger).status_code,
        stranger_api.call("DELETE", f"{base}/{file['id']}", stranger).status_code,
        upload(stranger_api, stranger, ticket["id"], b"x\n").status_code,
    ]
    assert answers == [404, 404, 404, 404]


def test_oversize_executables_archives_and_unnamed_files_are_refused(files):
    api, _, _ = files
    requester = api.user("requester")
    ticket = api.open(requester)
    too_big = upload(api, requester, ticket["id"], b"a" * (LIMIT + 1), name="big.txt")
    assert too_big.status_code == 413
    assert too_big.headers["Content-Type"] == "application/problem+json"
    # without a Content-Length (chunked), the limit is counted as the bytes come
    streamed = upload(api, requester, ticket["id"], iter([b"a" * 65536] * 7), name="big.txt")
    assert streamed.status_code == 413
    exe = upload(api, requester, ticket["id"], b"MZ" + b"\0" * 500, name="invoice.pdf")
    zipped = upload(api, requester, ticket["id"], b"PK\x03\x04" + b"\0" * 500, name="a.zip")
    assert (exe.status_code, zipped.status_code) == (415, 415)
    assert exe.json()["title"] == "Unsupported Media Type"
    unnamed = requests.post(
        f"{api.base}/v1/tickets/{ticket['id']}/attachments",
        data=b"abc",
        headers=api.headers(requester),
        timeout=10,
    )
    assert unnamed.status_code == 400
    # a cancelled ticket takes no file: refused before the body is read
    other = api.open(requester)
    api.call("POST", f"/v1/tickets/{other['id']}/transitions", requester, {"to": "cancelled"})
    assert upload(api, requester, other["id"], b"late\n", name="late.txt").status_code == 409
    # nothing was recorded
    assert api.call("GET", f"/v1/tickets/{ticket['id']}/attachments", requester).json() == {
        "items": []
    }


def test_an_infected_file_is_stored_marked_and_never_downloaded(files):
    api, _, _ = files
    requester, agent = api.user("requester"), api.user("agent")
    ticket = api.open(requester)
    # the signature across a chunk boundary of the upload still counts
    data = b"x" * (65536 - 20) + EICAR + b"\n"
    file = upload(api, requester, ticket["id"], data, name="eicar.txt").json()
    assert file["scan"] == "infected"
    refused = api.call("GET", f"/v1/tickets/{ticket['id']}/attachments/{file['id']}", agent)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"


def test_a_tenant_allowed_risky_types_may_store_an_archive_others_may_not(ticketing_factory):
    allowed_tenant = str(uuid.uuid4())
    api, _, _, _ = ticketing_factory(TICKETING_ATTACHMENT_RISKY_TENANTS=allowed_tenant)
    allowed = TicketingApi(api.base, api.issuer, allowed_tenant)
    zipped = b"PK\x03\x04" + b"\0" * 500
    answers = []
    for tenant in (allowed, api):
        requester = tenant.user("requester")
        ticket = tenant.open(requester)
        answers.append(upload(tenant, requester, ticket["id"], zipped, name="logs.zip"))
    assert [a.status_code for a in answers] == [201, 415]
    assert answers[0].json()["content_type"] == "application/zip"


def test_a_multipart_upload_is_streamed_from_its_file_part(files):
    api, _, _ = files
    requester = api.user("requester")
    ticket = api.open(requester)
    url = f"{api.base}/v1/tickets/{ticket['id']}/attachments"
    content = b"%PDF-1.4\n" + os.urandom(350_000)  # many reads, boundaries split across them
    sent = requests.post(
        url,
        data={"note": "from the form"},
        files={"file": ("Rechnung.pdf", content, "text/plain")},
        headers=api.headers(requester),
        timeout=30,
    )
    assert sent.status_code == 201, sent.text
    file = sent.json()
    assert (file["file_name"], file["size"], file["content_type"]) == (
        "Rechnung.pdf",
        len(content),
        "application/pdf",
    )
    got = api.call("GET", f"/v1/tickets/{ticket['id']}/attachments/{file['id']}", requester)
    assert got.content == content
    body = b'--b0\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nabc'
    cut = requests.post(
        url,
        data=body,
        headers=api.headers(requester, **{"Content-Type": "multipart/form-data; boundary=b0"}),
        timeout=30,
    )
    assert cut.status_code == 400, cut.text  # the closing boundary never came
    listed = api.call("GET", f"/v1/tickets/{ticket['id']}/attachments", requester).json()
    assert [item["id"] for item in listed["items"]] == [file["id"]]


def test_purge_deletes_the_subjects_blobs_and_rows_and_a_rebuild_brings_back_only_the_rest(
    files,
):
    api, cfg, urls = files
    requester, agent = api.user("requester"), api.user("agent")
    ticket = api.open(requester)
    theirs = upload(api, requester, ticket["id"], b"my payslip\n", name="payslip.txt").json()
    ours = upload(api, agent, ticket["id"], b"vendor answer\n", name="vendor.txt").json()
    rows_sql = "SELECT * FROM ticket_attachments ORDER BY attachment_id"
    with service_rpc("privacy", cfg) as privacy, service_rpc("ticketing", cfg) as ticketing_rpc:
        exported = ticketing_rpc.export_subject(api.tenant_id, requester["user_id"])
        (file,) = exported["files_uploaded"]
        assert (file["file_name"], base64.b64decode(file["content"])) == (
            "payslip.txt",
            b"my payslip\n",
        )
        privacy.shred_subject_key(api.tenant_id, requester["user_id"], {"system": "test"})
        receipt = ticketing_rpc.purge_subject(api.tenant_id, requester["user_id"], "req-1")
        assert receipt["purged"]["files"] == 1
        before = rows(urls, rows_sql)
        counts = ticketing_rpc.rebuild_read_model(api.tenant_id)
    assert counts["tickets"] == 1 and rows(urls, rows_sql) == before
    assert blob_bytes(cfg, api.tenant_id, ticket["id"], theirs["id"]) is None
    assert blob_bytes(cfg, api.tenant_id, ticket["id"], ours["id"]) is not None
    listed = api.call("GET", f"/v1/tickets/{ticket['id']}/attachments", agent).json()["items"]
    assert [item["file_name"] for item in listed] == ["vendor.txt"]
    assert "payslip" not in str(before)


def test_storage_out_of_reach_answers_503_and_records_nothing(ticketing_factory):
    from nameko.testing.utils import find_free_port

    from dzdesk_dev.azurite import connection_string

    api, _, _, _ = ticketing_factory(
        TICKETING_BLOB_CONNECTION_STRING=connection_string(find_free_port())
    )
    requester = api.user("requester")
    ticket = api.open(requester)
    answer = upload(api, requester, ticket["id"], b"hello\n", name="a.txt")
    assert answer.status_code == 503, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    listed = api.call("GET", f"/v1/tickets/{ticket['id']}/attachments", requester).json()
    assert listed == {"items": []}


def test_storage_failing_with_server_errors_answers_503_and_records_nothing(ticketing_factory):
    """An account that answers every request with 500 (a storage outage) is the dependency
    failing: 503 for the caller to try again, never a 500 of ours."""
    import http.server
    import threading

    from dzdesk_dev.azurite import connection_string

    class Failing(http.server.BaseHTTPRequestHandler):
        def _fail(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _fail

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api, _, _, _ = ticketing_factory(
            TICKETING_BLOB_CONNECTION_STRING=connection_string(server.server_address[1])
        )
        requester = api.user("requester")
        ticket = api.open(requester)
        answer = upload(api, requester, ticket["id"], b"hello\n", name="a.txt")
        assert answer.status_code == 503, answer.text
        assert answer.headers["Content-Type"] == "application/problem+json"
        listed = api.call("GET", f"/v1/tickets/{ticket['id']}/attachments", requester).json()
        assert listed == {"items": []}
    finally:
        server.shutdown()
