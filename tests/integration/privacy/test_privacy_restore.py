"""Erasure survives a restore: the drill (dump, erase, restore, start), privacy failing closed."""

import subprocess
import time
import uuid

import psycopg
import pytest
from nameko.exceptions import RemoteError
from psycopg import sql

from services.audit.service import AuditService
from shared import config
from shared.crypto import ERASED
from tests.integration.privacy.conftest import Suite, new_id
from tests.support.waiting import wait_until


@pytest.fixture
def with_audit(container_factory, service_config, token_issuer):
    """Privacy checking its keys against a running audit service, and the two participants."""
    suite = Suite(container_factory, service_config, token_issuer, PRIVACY_RECONCILE_SECONDS=30)
    suite.audit_config, suite.audit_urls = service_config(
        "audit", AMQP_URI=suite.config["AMQP_URI"]
    )
    suite.audit = suite.start(AuditService, suite.audit_config)
    return suite


def subject_key(suite, tenant, subject):
    with suite.rpc("privacy") as privacy:
        return privacy.get_subject_key(tenant, subject)


def audit_saw_shredded(suite, subject):
    with psycopg.connect(suite.audit_urls["admin"]) as conn:
        return conn.execute(
            "SELECT count(*) FROM audit_entry WHERE event_type ="
            " 'privacy.subject_key_shredded' AND stream_id = %s",
            (f"subject-{subject}",),
        ).fetchone()[0]


def restore_into_new_database(dump, service_databases):
    """pg_restore of the dump into a fresh database, as after losing the original."""
    name = f"dzdesk_privacy_restored_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(config.admin_url(), autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(config.role_names("privacy")["owner"])
            )
        )
    service_databases.created.append(name)
    admin_url = psycopg.conninfo.make_conninfo(config.admin_url(), dbname=name)
    subprocess.run(
        ["pg_restore", "--exit-on-error", "-d", admin_url, str(dump)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    roles = config.role_names("privacy")
    return {
        "admin": admin_url,
        "app": config.role_url(config.admin_url(), roles["app"], name),
        "system": config.role_url(config.admin_url(), roles["system"], name),
    }


def test_the_restore_drill_shreds_the_restored_key_again_and_no_api_returns_the_plaintext(
    with_audit, service_databases, tmp_path, record_property
):
    suite, tenant, subject, other = with_audit, new_id(), new_id(), new_id()
    suite.seed(tenant, subject, name="Ada Lovelace", email="ada@example.com")
    suite.seed(tenant, other, name="Alan Turing")
    export_id = suite.request(tenant, subject, {"type": "export", "subject_id": subject})["id"]
    suite.wait(tenant, export_id)
    dump = tmp_path / "privacy.dump"
    subprocess.run(
        ["pg_dump", "-Fc", "-f", str(dump), suite.urls["admin"]], check=True, timeout=120
    )

    erasure = suite.request(tenant, subject, {"type": "erasure", "subject_id": subject})["id"]
    assert suite.wait(tenant, erasure)["status"] == "completed"
    wait_until(lambda: audit_saw_shredded(suite, subject), 20, "the shredding in the audit log")

    suite.privacy.stop()
    restored = restore_into_new_database(dump, service_databases)
    with psycopg.connect(restored["admin"]) as conn:  # the backup brought the key back
        assert (
            conn.execute(
                "SELECT count(*) FROM subject_keys WHERE subject_id = %s AND"
                " wrapped_key IS NOT NULL",
                (subject,),
            ).fetchone()[0]
            == 1
        )
    suite.urls = restored
    suite.config.update(
        {"DATABASE_URL": restored["app"], "SYSTEM_DATABASE_URL": restored["system"]}
    )
    started = time.monotonic()
    suite.restart_privacy()

    answers = []

    def key_answered():
        try:
            answers.append(subject_key(suite, tenant, subject))
            return True
        except RemoteError as error:
            assert error.exc_type == "KeysNotReconciled", error
            return False

    wait_until(key_answered, 60, "privacy to answer for the subject's key")
    wait_until(
        lambda: suite.privacy_rows(
            "SELECT 1 FROM subject_keys WHERE subject_id = %s AND shredded_at IS NOT NULL", subject
        ),
        60,
        "the restored key to be shredded again",
    )
    seconds = time.monotonic() - started
    record_property("restore_reshred_seconds", round(seconds, 2))
    print(
        "\nrestore drill: the restored key was shredded again"
        f" {seconds:.2f} s after privacy started"
    )

    assert answers == [None]  # never the restored key, not even before the check had run
    assert subject_key(suite, tenant, subject) is None and subject_key(suite, tenant, other)
    download = suite.get(f"/v1/privacy/requests/{export_id}/export", tenant, subject)
    assert download.status_code == 410 and b"Ada" not in download.content
    assert suite.privacy_rows("SELECT count(*) FROM export_bundles") == [(0,)]
    for name in suite.participants:
        with suite.rpc(name) as participant:
            assert {e["name"] for e in participant.opened_events(tenant, subject)} == {ERASED}
            assert participant.opened_events(tenant, other)[0]["name"] == "Alan Turing"
    # a pass that finds nothing to do does nothing, and the record of the second shredding is kept
    assert suite.privacy_rows(
        "SELECT count(*) FROM events WHERE event_type ="
        " 'privacy.subject_key_shredded' AND stream_id = %s",
        f"subject-{subject}",
    ) == [(1,)]


def test_privacy_hands_out_no_key_until_the_audit_log_has_been_checked(with_audit):
    suite, tenant, subject = with_audit, new_id(), new_id()
    suite.seed(tenant, subject)
    suite.audit.stop()
    suite.restart_privacy()
    with pytest.raises(RemoteError) as refused:
        subject_key(suite, tenant, subject)
    assert refused.value.exc_type == "KeysNotReconciled"
    suite.audit = suite.start(AuditService, suite.audit_config)
    assert wait_until(
        lambda: _key_or_none(suite, tenant, subject), 60, "the key once audit answers"
    )


def _key_or_none(suite, tenant, subject):
    try:
        return subject_key(suite, tenant, subject)
    except RemoteError:
        return None
