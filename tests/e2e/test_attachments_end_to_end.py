"""A file's whole life through the gateway: uploaded (larger than any other route takes),
downloaded, exported with the subject's data, and after the uploader's erasure absent from
every blob in Azure storage (Azurite) and from a dump of ticketing's database."""

import base64
import io
import json
import uuid
import zipfile

from azure.storage.blob import BlobServiceClient

from tests.support.waiting import wait_until_completed


def every_blob(connection_string):
    """(container, name, bytes) of every blob of the storage account."""
    service = BlobServiceClient.from_connection_string(connection_string)
    for container in service.list_containers():
        client = service.get_container_client(container.name)
        for blob in client.list_blobs():
            yield container.name, blob.name, client.download_blob(blob.name).readall()


def test_a_file_is_uploaded_downloaded_exported_and_gone_after_erasure(suite):
    marker = uuid.uuid4().hex
    admin = suite.sign_in_google(f"admin.{marker[:8]}@example.test", name="Ada Admin")
    mia = suite.sign_in_google(f"mia.{marker[:8]}@example.test", name="Mia Person")
    token = mia["access_token"]
    ticket = suite.request(
        "POST", "/v1/tickets", token, json={"type": "incident", "title": "Scanner broken"}
    ).json()
    # 2 MiB of text that says whose it is: over the gateway's 1 MiB for every other route
    content = (f"scan of Mia's passport {marker}\n".encode() * 40_000)[: 2 * 1024 * 1024]
    name = f"passport-{marker}.txt"
    uploaded = suite.request(
        "POST",
        f"/v1/tickets/{ticket['id']}/attachments",
        token,
        data=content,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    assert uploaded.status_code == 201, uploaded.text
    file = uploaded.json()
    assert file["size"] == len(content) and file["content_type"] == "text/plain"
    too_big = suite.request(
        "POST",
        "/v1/tickets",
        token,
        data=b"{" + b" " * len(content) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert too_big.status_code == 413  # the size is allowed on the attachments route only
    downloaded = suite.request("GET", f"/v1/tickets/{ticket['id']}/attachments/{file['id']}", token)
    assert downloaded.status_code == 200 and downloaded.content == content
    assert name in downloaded.headers["Content-Disposition"]

    # the admin's file on the same ticket is not the subject's: it stays after her erasure
    kept = suite.request(
        "POST",
        f"/v1/tickets/{ticket['id']}/attachments?filename=runbook.txt",
        admin["access_token"],
        data=b"how to reset the scanner\n",
    )
    assert kept.status_code == 201, kept.text
    kept_blob = f"{ticket['id']}/{kept.json()['id']}"

    connection = suite.configs["ticketing"]["TICKETING_BLOB_CONNECTION_STRING"]
    stored = [b for b in every_blob(connection) if b[1] == f"{ticket['id']}/{file['id']}"]
    assert len(stored) == 1 and marker.encode() not in stored[0][2]  # ciphertext only
    assert name in suite.dump("ticketing")  # the row holds it until the erasure

    filed = suite.request(
        "POST",
        "/v1/privacy/requests",
        token,
        json={"type": "export", "subject_id": mia["user"]["id"]},
    )
    assert filed.status_code == 202, filed.text
    wait_until_completed(suite, filed.json()["id"], token, done=("ready",))
    bundle = suite.request("GET", f"/v1/privacy/requests/{filed.json()['id']}/export", token)
    ticketing = json.loads(zipfile.ZipFile(io.BytesIO(bundle.content)).read("ticketing.json"))
    (exported,) = ticketing["files_uploaded"]
    assert exported["file_name"] == name
    assert base64.b64decode(exported["content"]) == content

    erasure = suite.request("DELETE", "/v1/me", token)
    assert erasure.status_code == 202, erasure.text
    # as in test_erasure_everywhere: a busy machine may need the saga's retry of a purge
    wait_until_completed(suite, erasure.json()["id"], admin["access_token"], timeout=120)

    searched = []
    for container, blob, data in every_blob(connection):
        searched.append(blob)
        assert blob != f"{ticket['id']}/{file['id']}", "the erased subject's blob is still stored"
        assert marker.encode() not in data and name.encode() not in data, (container, blob)
    assert kept_blob in searched  # the account was searched, not empty by mistake
    dump = suite.dump("ticketing")
    assert marker not in dump and name not in dump
