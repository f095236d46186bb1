"""No log line of a service process carries what a request sent: path, query, headers, body,
nor the text a database error echoes; the access log names the route, never the caller."""

import json
import uuid

import pytest
import requests

from services.privacy.service import PrivacyService
from tests.support import run_service

CLIENT_IP = "198.51.100.23"


@pytest.fixture
def marker():
    return f"Mk{uuid.uuid4().hex[:14]}"


@pytest.fixture
def logged(tmp_path, service_config, container_factory):
    """start(class_path, service) -> base URL of the service in a process of its own, logging at
    the project's default level into a file; read() -> the lines every process wrote."""
    processes, files = [], []
    privacy_cfg = None

    def start(class_path, service):
        nonlocal privacy_cfg
        if privacy_cfg is None:
            privacy_cfg, _ = service_config("privacy")
            container_factory(PrivacyService, privacy_cfg).start()
        cfg, _ = service_config(service, AMQP_URI=privacy_cfg["AMQP_URI"])
        log_file = open(tmp_path / f"{service}.log", "w+")
        files.append(log_file)
        processes.append(
            run_service.start_process(class_path, cfg, log_level="INFO", stderr=log_file)
        )
        return f"http://{cfg['WEB_SERVER_ADDRESS']}"

    def read():
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        lines = []
        for log_file in files:
            log_file.seek(0)
            lines += log_file.read().splitlines()
        return lines

    yield start, read
    for process in processes:
        if process.poll() is None:
            process.kill()
    for log_file in files:
        log_file.close()


def carrying(marker, token=None):
    """Headers that carry the marker in every place a log could pick it up."""
    return {
        "User-Agent": f"curl/{marker}",
        "Referer": f"https://{marker}.example/",
        "X-Forwarded-For": f"{CLIENT_IP}, 203.0.113.9",
        "X-Real-IP": CLIENT_IP,
        "Cookie": f"session={marker}",
        "X-Note": marker,
        "Authorization": f"Bearer {token or marker}",
    }


def test_no_log_line_holds_a_marker_sent_in_path_query_headers_body_or_a_database_error(
    logged, marker, token_issuer
):
    start, read = logged
    ticketing = start("services.ticketing.service:TicketingService", "ticketing")
    probe = start("tests.support.probe:ProbeService", "probe")
    tenant = str(uuid.uuid4())
    token = token_issuer.token(tenant_id=tenant, roles=("agent",))
    headers = carrying(marker, token)
    answers = [
        requests.get(f"{ticketing}/v1/tickets?q={marker}&status=new", headers=headers),
        requests.get(f"{ticketing}/v1/tickets?requester={marker}", headers=headers),
        requests.get(f"{ticketing}/v1/tickets/{marker}", headers=headers),
        requests.get(f"{ticketing}/v1/{marker}/unknown", headers=headers),
        requests.get(f"{ticketing}/v1/tickets", headers=carrying(marker)),  # a bad token
        requests.post(
            f"{ticketing}/v1/tickets",
            headers=headers,
            json={
                "type": "incident",
                "title": f"{marker} cannot print",
                "description": f"Ask {marker} at {marker}@example.test",
            },
        ),
        requests.post(
            f"{ticketing}/v1/tickets", headers=headers, json={"type": marker, "title": marker}
        ),
        requests.post(
            f"{probe}/v1/probe/{tenant}/documents", headers=headers, json={"text": f"{{{marker}"}
        ),
    ]
    statuses = [answer.status_code for answer in answers]
    lines = read()

    assert statuses[5] == 201 and statuses[6] == 400 and statuses[7] == 500, statuses
    leaks = [line for line in lines if marker.lower() in line.lower() or CLIENT_IP in line]
    assert leaks == []
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    access = [entry for entry in entries if entry.get("event") == "http request"]
    assert len(access) == len(answers)  # the access log did run, once per request
    assert {"route": "/v1/tickets/<ticket_id>", "method": "GET"}.items() <= access[2].items()
    failures = [entry for entry in entries if "exception" in entry]
    assert any(
        "InvalidTextRepresentation: SQLSTATE 22P02" in entry["exception"] for entry in failures
    )  # the database error was logged, without its data


def _server_log():
    """PostgreSQL's own log file on this machine (Debian's pg_ctlcluster writes the server's
    stderr there), or None where the server logs elsewhere."""
    import glob

    import psycopg

    from shared import config

    with psycopg.connect(config.admin_url()) as conn:
        major = conn.info.server_version // 10000
    found = sorted(glob.glob(f"/var/log/postgresql/postgresql-{major}-*.log"))
    return found[0] if found else None


def test_the_database_server_log_holds_no_text_a_service_sent_in_a_failing_statement(
    make_database, marker
):
    import pathlib

    import psycopg

    log = _server_log()
    if log is None:
        pytest.skip("PostgreSQL's log file is not where Debian puts it")
    path = pathlib.Path(log)
    urls = make_database("ticketing")
    start = path.stat().st_size
    quiet, loud = marker, f"zq{uuid.uuid4().hex[:12]}"
    # the service's role, as every service connects: its error and statement stay out
    with (
        psycopg.connect(urls["app"]) as conn,
        pytest.raises(psycopg.errors.InvalidTextRepresentation),
    ):
        conn.execute("SELECT %s::int", (quiet,))
    # the administrator, whose role has the server's default settings: the control
    with (
        psycopg.connect(urls["admin"]) as conn,
        pytest.raises(psycopg.errors.InvalidTextRepresentation),
    ):
        conn.execute("SELECT %s::int", (loud,))

    def written():
        with path.open("rb") as file:
            file.seek(start)
            return file.read().decode(errors="replace")

    from tests.support.waiting import wait_until

    text = wait_until(lambda: loud in written() and written(), 10, "the control line in the log")
    assert quiet not in text
