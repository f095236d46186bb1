"""dzdesk-keys rotate-master: every live key re-wrapped under the new version, the old retired."""

import base64
import io
import json
import os
import subprocess
import sys
import zipfile

import psycopg

from services.privacy import cli
from shared.crypto import CipherError, MasterKey, MasterKeyRing
from tests.integration.privacy.conftest import new_id

OLD, NEW = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))


def env_of(suite, **keys):
    return {
        "PRIVACY_DATABASE_URL": suite.urls["app"],
        "PRIVACY_SYSTEM_DATABASE_URL": suite.urls["system"],
        **keys,
    }


def key_of(suite, tenant, subject):
    with suite.rpc("privacy") as privacy:
        return privacy.get_subject_key(tenant, subject)


def rotate(suite, keys, capsys):
    assert cli.main(["rotate-master"], env=env_of(suite, DZDESK_MASTER_KEYS=keys)) == 0
    # the command prints one JSON line last; the stopped service's log lines may come before it
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_rotation_rewraps_every_live_key_and_the_old_version_can_then_be_dropped(
    make_suite, capsys
):
    suite = make_suite(DZDESK_MASTER_KEY=OLD)
    tenants, subject, erased = [new_id(), new_id()], new_id(), new_id()
    for tenant in tenants:
        suite.seed(tenant, subject, name="Ada Lovelace")
    suite.seed(tenants[0], erased)
    export_id = suite.request(tenants[0], subject, {"type": "export", "subject_id": subject})["id"]
    suite.wait(tenants[0], export_id)
    before = {t: key_of(suite, t, subject) for t in tenants}
    bundle = suite.get(f"/v1/privacy/requests/{export_id}/export", tenants[0], subject).content
    erasure = suite.request(tenants[0], erased, {"type": "erasure", "subject_id": erased})["id"]
    suite.wait(tenants[0], erasure)
    backup = suite.privacy_rows(
        "SELECT tenant_id::text, subject_id, wrapped_key FROM subject_keys"
        " WHERE wrapped_key IS NOT NULL"
    )
    assert {
        r[0]
        for r in suite.privacy_rows(
            "SELECT master_key_version FROM subject_keys WHERE shredded_at IS NULL"
        )
    } == {1}

    suite.privacy.stop()
    done = rotate(suite, f"2:{NEW},1:{OLD}", capsys)
    assert done == {"version": 2, "subject_keys": 2, "export_keys": 1}
    rows = suite.privacy_rows(
        "SELECT subject_id, master_key_version, master_key_id, shredded_at IS NOT NULL"
        " FROM subject_keys"
    )
    live = [r for r in rows if not r[3]]
    assert {(r[1], r[2]) for r in live} == {(2, MasterKey(base64.b64decode(NEW)).key_id)}
    assert [r[:3] for r in rows if r[3]] == [
        (erased, None, None)
    ]  # the tombstone stays a tombstone
    assert rotate(suite, f"2:{NEW},1:{OLD}", capsys)["subject_keys"] == 0  # nothing left to do

    suite.config.pop("DZDESK_MASTER_KEY")
    suite.config["DZDESK_MASTER_KEYS"] = f"2:{NEW}"  # version 1 retired
    suite.restart_privacy()
    assert {t: key_of(suite, t, subject) for t in tenants} == before
    again = suite.get(f"/v1/privacy/requests/{export_id}/export", tenants[0], subject)
    assert again.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(again.content)).read("profiles.json") == zipfile.ZipFile(
        io.BytesIO(bundle)
    ).read("profiles.json")
    retired = MasterKeyRing([(2, MasterKey(base64.b64decode(NEW)))])
    for tenant, subject_id, wrapped in backup:  # a backup's copies open with no configured key
        try:
            retired.unwrap(bytes(wrapped), tenant, subject_id)
        except CipherError:
            continue
        raise AssertionError("a key wrapped by the retired master key still opens")


def test_keys_wrapped_before_versions_existed_are_rotated_too(make_suite, capsys):
    suite = make_suite(DZDESK_MASTER_KEY=OLD)
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    before = key_of(suite, tenant, subject)
    suite.privacy.stop()
    with psycopg.connect(suite.urls["admin"]) as conn:
        conn.execute("UPDATE subject_keys SET master_key_version = NULL")
    assert rotate(suite, f"7:{NEW},1:{OLD}", capsys)["subject_keys"] == 1
    suite.config["DZDESK_MASTER_KEYS"] = f"7:{NEW}"
    suite.restart_privacy()
    assert key_of(suite, tenant, subject) == before


def test_the_console_script_reports_versions_and_refuses_a_bad_key_list(make_suite):
    suite = make_suite(DZDESK_MASTER_KEY=OLD)
    suite.seed(new_id(), new_id())
    script = os.path.join(os.path.dirname(sys.executable), "dzdesk-keys")
    env = {**os.environ, **env_of(suite)}
    status = subprocess.run([script, "status"], env=env, capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["subject_keys"] == {"1": 1}
    bad = subprocess.run(
        [script, "rotate-master"],
        env={**env, "DZDESK_MASTER_KEYS": "2:nope"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        bad.returncode == 2 and "DZDESK_MASTER_KEYS" in bad.stderr and "Traceback" not in bad.stderr
    )
