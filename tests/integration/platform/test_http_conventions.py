import uuid

import eventlet
import psycopg
import pytest
import requests

from shared import config
from tests.support.probe import EchoService, ProbeService
from tests.support.waiting import wait_until

PROBLEM = "application/problem+json"


@pytest.fixture
def base(container_factory, service_config):
    cfg, _ = service_config("probe")
    container_factory(EchoService, cfg).start()
    container_factory(ProbeService, cfg).start()
    return f"http://{cfg['WEB_SERVER_ADDRESS']}"


def post_note(base, body=None, tenant=None, stream="s", **kwargs):
    kwargs.setdefault("headers", {"If-Match": '"0"'})
    return requests.post(
        f"{base}/v1/probe/{tenant or uuid.uuid4()}/streams/{stream}", json=body, **kwargs
    )


def test_a_body_failing_validation_is_a_400_problem_with_field_errors(base):
    response = post_note(base, {"text": ""})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == PROBLEM
    assert "text" in response.json()["errors"]


def test_malformed_json_is_a_400_problem(base):
    response = requests.post(
        f"{base}/v1/probe/{uuid.uuid4()}/streams/s",
        data="{nope",
        headers={"Content-Type": "application/json", "If-Match": '"0"'},
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "the body is not valid JSON"


@pytest.mark.parametrize(
    "raw",
    [
        '{"text": "nul \\u0000 inside"}',
        '{"text": "a lone surrogate \\ud800"}',
        '{"text": "ok", "\\u0000key": "in a key"}',
    ],
)
def test_text_postgresql_cannot_store_is_a_400_problem_and_nothing_is_written(base, raw):
    tenant = str(uuid.uuid4())
    response = requests.post(
        f"{base}/v1/probe/{tenant}/streams/s",
        data=raw,
        headers={"Content-Type": "application/json", "If-Match": '"0"'},
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"] == PROBLEM
    assert "NUL" in response.json()["detail"]
    assert post_note(base, {"text": "fine"}, tenant=tenant).status_code == 201


def test_a_body_that_is_not_json_is_a_415_problem(base):
    response = requests.post(
        f"{base}/v1/probe/{uuid.uuid4()}/streams/s",
        data="text=hi",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.headers["Content-Type"] == PROBLEM


def test_an_update_without_if_match_is_a_428_problem(base):
    response = post_note(base, {"text": "hi"}, headers={})
    assert response.status_code == 428


def test_a_stale_if_match_is_a_412_problem_and_writes_nothing(base):
    tenant = uuid.uuid4()
    created = post_note(base, {"text": "one"}, tenant=tenant)
    assert created.status_code == 201 and created.headers["ETag"] == '"1"'
    stale = post_note(base, {"text": "two"}, tenant=tenant)
    assert stale.status_code == 412
    fresh = post_note(base, {"text": "two"}, tenant=tenant, headers={"If-Match": '"1"'})
    assert fresh.headers["ETag"] == '"2"'


def test_an_unknown_path_and_a_wrong_method_are_problems(base):
    missing = requests.get(f"{base}/v1/nowhere")
    wrong = requests.delete(f"{base}/health/live")
    assert (missing.status_code, missing.headers["Content-Type"]) == (404, PROBLEM)
    assert (wrong.status_code, wrong.headers["Content-Type"]) == (405, PROBLEM)


def test_an_unexpected_error_is_a_500_problem_without_internals(base):
    response = requests.get(f"{base}/v1/probe/crash")
    assert response.status_code == 500
    assert response.headers["Content-Type"] == PROBLEM
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_health_and_metrics_answer(base):
    assert requests.get(f"{base}/health/live").json() == {"status": "ok"}
    ready = requests.get(f"{base}/health/ready")
    assert ready.status_code == 200
    assert set(ready.json()["checks"].values()) == {"ok"}
    metrics = requests.get(f"{base}/metrics")
    assert metrics.headers["Content-Type"].startswith("text/plain")
    assert (
        'dzdesk_http_requests_total{method="GET",route="/health/ready",service="probe",status="200"}'
        in metrics.text
    )


def test_two_slow_queries_overlap_instead_of_queueing(base, service_databases):
    pool = eventlet.GreenPool()
    running = [pool.spawn(requests.get, f"{base}/v1/probe/sleep/1.0") for _ in range(3)]
    # the database itself sees the queries at once, not one after the other
    database = service_databases.created[-1]
    concurrent = wait_until(
        lambda: (n := _sleeping_backends(database)) >= 2 and n,
        timeout=5,
        what="two probe queries running at the same time",
    )
    answers = [request.wait() for request in running]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert concurrent >= 2  # how long the three take together is a figure of bench/


def _sleeping_backends(database):
    with psycopg.connect(config.admin_url(), autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
            " AND query LIKE 'SELECT pg_sleep%%' AND state = 'active'",
            (database,),
        ).fetchone()[0]


def test_the_openapi_document_describes_routes_and_body_schemas(base):
    document = requests.get(f"{base}/openapi.json").json()
    operation = document["paths"]["/v1/probe/{tenant_id}/streams/{stream_id}"]["post"]
    assert operation["summary"] == "Add a note to a stream."
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Note"
    }
    assert document["components"]["schemas"]["Note"]["required"] == ["text"]
    assert "/health/ready" in document["paths"]
