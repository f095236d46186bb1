"""A real nginx running the rendered gateway config routes, limits and labels requests as
promised."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from deploy_test_support import fake_services, free_port, request, running_gateway

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")


@pytest.fixture(scope="module")
def gateway():
    with fake_services() as upstreams, running_gateway(upstreams) as port:
        yield port


@pytest.mark.parametrize(
    "path, service",
    [
        ("/v1/auth/google", "identity"),
        ("/v1/me", "identity"),
        ("/v1/tenant/members", "identity"),
        ("/v1/tickets", "ticketing"),
        ("/v1/sla/policies", "ticketing"),
        ("/v1/privacy/requests", "privacy"),
        ("/v1/audit/events?limit=5", "audit"),
        ("/v1/ai/suggestions", "ai"),
        ("/v1/webhooks", "integrations"),
        ("/v1/events?after=0", "integrations"),
        # before identity's /v1/me, whose other paths stay identity's
        ("/v1/me/notifications", "notifications"),
        ("/v1/me/notifications/preferences", "notifications"),
        ("/v1/me/notificationsx", "identity"),
        ("/v1/me/sessions", "identity"),
    ],
)
def test_each_documented_prefix_reaches_its_service(gateway, path, service):
    status, _, body = request(gateway, "GET", path)

    assert status == 200
    assert json.loads(body) == json.loads(body) | {"service": service, "path": path}


@pytest.mark.parametrize(
    "path", ["/", "/v1/authx", "/v1/ticketsfoo/1", "/health/ready", "/metrics", "/v2/tickets"]
)
def test_an_undocumented_path_gets_a_problem_document_from_nginx(gateway, path):
    status, headers, body = request(gateway, "GET", path)

    assert status == 404
    assert headers["Content-Type"].startswith("application/problem+json")
    assert json.loads(body)["status"] == 404


def test_a_body_over_one_mebibyte_is_refused_with_413(gateway):
    status, headers, body = request(gateway, "POST", "/v1/tickets", body=b"x" * (1024 * 1024 + 1))

    assert status == 413
    assert headers["Content-Type"].startswith("application/problem+json")
    assert json.loads(body)["status"] == 413


def test_the_service_and_the_client_see_the_same_generated_request_id(gateway):
    status, headers, body = request(gateway, "GET", "/v1/tickets")

    assert status == 200
    assert len(headers.get_all("X-Request-ID")) == 1
    assert json.loads(body)["request_id"] == headers["X-Request-ID"]
    assert len(headers["X-Request-ID"]) == 32


def test_a_well_formed_client_request_id_is_kept(gateway):
    client_id = f"req-{uuid.uuid4()}"

    _, headers, body = request(gateway, "GET", "/v1/me", headers={"X-Request-ID": client_id})

    assert headers["X-Request-ID"] == client_id
    assert json.loads(body)["request_id"] == client_id


def test_a_malformed_client_request_id_is_replaced(gateway):
    _, headers, body = request(gateway, "GET", "/v1/me", headers={"X-Request-ID": 'bad" id'})

    assert headers["X-Request-ID"] != 'bad" id'
    assert json.loads(body)["request_id"] == headers["X-Request-ID"]


def test_a_404_carries_the_request_id_in_header_and_body(gateway):
    _, headers, body = request(gateway, "GET", f"/nowhere/{uuid.uuid4().hex}")

    assert json.loads(body)["request_id"] == headers["X-Request-ID"]


def test_a_client_over_its_rate_gets_429_problem_documents():
    with fake_services() as upstreams, running_gateway(upstreams) as port:
        # Stop at the first refusal: a slow machine needs more requests to outrun 20 per second.
        for _ in range(2000):
            status, headers, body = request(port, "GET", "/v1/tickets")
            if status == 429:
                break

    assert status == 429, "no request was rate limited"
    assert headers["Content-Type"].startswith("application/problem+json")
    assert headers["Retry-After"] == "1"
    assert json.loads(body)["status"] == 429


def test_an_unreachable_service_gets_a_503_problem_document():
    with fake_services() as upstreams:
        upstreams["audit"] = f"127.0.0.1:{free_port()}"
        with running_gateway(upstreams) as port:
            status, headers, body = request(port, "GET", "/v1/audit/verify")

    assert status == 503
    assert headers["Content-Type"].startswith("application/problem+json")


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_passed_on():
    with (
        fake_services() as upstreams,
        running_gateway(upstreams, trusted_proxies=["127.0.0.0/8"]) as port,
    ):
        _, _, body = request(port, "GET", "/v1/me", headers={"X-Forwarded-For": "203.0.113.7"})

    assert json.loads(body)["real_ip"] == "203.0.113.7"


def test_without_trusted_proxies_a_forwarded_address_is_ignored(gateway):
    _, _, body = request(gateway, "GET", "/v1/me", headers={"X-Forwarded-For": "203.0.113.7"})

    assert json.loads(body)["real_ip"] == "127.0.0.1"


@pytest.mark.parametrize(
    "client, network",
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:abcd:12:3456::7", "2001:db8:abcd::/48"),
        ("2001:db8::7", "2001:db8::/48"),
    ],
)
def test_the_access_log_keeps_the_client_network_and_no_user_agent_or_query(client, network):
    with fake_services() as upstreams:
        run_dir = Path(tempfile.mkdtemp(prefix="dz-gateway-"))
        run_dir.chmod(0o755)
        with running_gateway(upstreams, trusted_proxies=["127.0.0.0/8"], run_dir=run_dir) as port:
            request(
                port,
                "GET",
                "/v1/me/jane.roe/x?search=jane.roe@example.org",
                headers={"X-Forwarded-For": client, "User-Agent": "Mozilla/5.0 (Jane's laptop)"},
            )
            log_file = run_dir / "access.log"
            lines = wait_for_lines(log_file)

    (entry,) = lines
    assert entry["client_network"] == network
    assert client not in json.dumps(entry) and "Mozilla" not in json.dumps(entry)
    assert "jane.roe" not in json.dumps(entry) and entry["route"] == "/v1/me"


def wait_for_lines(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return [json.loads(line) for line in path.read_text().splitlines()]
        time.sleep(0.05)
    raise TimeoutError("nginx wrote no access log line")
