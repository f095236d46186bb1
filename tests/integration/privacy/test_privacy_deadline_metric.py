"""The saga driver reports the time left before the earliest open request's 30-day deadline
in dzdesk_privacy_request_deadline_seconds, per request type, reading as the system role only
which requests are open and when they were filed; the series goes once none is open."""

from datetime import datetime

import psycopg
import pytest

from shared.envelope import utcnow
from tests.integration.privacy.conftest import new_id
from tests.support.scrape import sample
from tests.support.waiting import wait_until

DAY = 86400


def deadline(suite, kind="erasure"):
    return sample(
        suite.base, "dzdesk_privacy_request_deadline_seconds", service="privacy", type=kind
    )


def test_the_time_to_an_open_erasure_deadline_is_reported_until_it_completes(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    suite.stop_participant("notes")  # the erasure stays open, purging
    request_id = suite.request(tenant, subject, {"type": "erasure", "subject_id": subject})["id"]
    fresh = wait_until(lambda: deadline(suite), timeout=10, what="the deadline series")
    # the request's own deadline, as its view shows it, within the pass's poll interval
    due = datetime.fromisoformat(suite.status(tenant, request_id)["deadline"])
    assert abs((due - utcnow()).total_seconds() - fresh) < 5
    assert 30 * DAY - 60 < fresh <= 30 * DAY
    with psycopg.connect(suite.urls["admin"]) as conn:  # filed 28 days ago
        conn.execute(
            "UPDATE privacy_requests SET created_at = created_at - interval '28 days'"
            " WHERE id = %s",
            (request_id,),
        )
    at_risk = wait_until(
        lambda: (left := deadline(suite)) < 3 * DAY and left, timeout=10, what="2 days left"
    )
    assert 2 * DAY - 60 < at_risk <= 2 * DAY
    assert deadline(suite, "export") is None  # no open export: no series
    suite.start_participant("notes")
    assert suite.wait(tenant, request_id)["status"] == "completed"
    wait_until(lambda: deadline(suite) is None, timeout=10, what="the series to go")


def test_the_system_role_reads_no_subject_or_requester_of_a_request(suite):
    with psycopg.connect(suite.urls["system"], autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM privacy_requests WHERE active").fetchone()
        for column in ("subject_id", "requested_by", "saga", "pii", "status"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT {column} FROM privacy_requests")
