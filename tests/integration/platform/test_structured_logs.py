import io
import json
import uuid

import pytest
import requests
import structlog

from shared import logs
from tests.support.probe import EchoService, ProbeService


@pytest.fixture
def log_stream():
    stream = io.StringIO()
    logs.configure("probe", "INFO", stream=stream)
    yield stream
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def test_a_worker_logs_json_with_service_entrypoint_tenant_and_correlation(
    container_factory, service_config, log_stream
):
    cfg, _ = service_config("probe")
    container_factory(EchoService, cfg).start()
    container_factory(ProbeService, cfg).start()
    tenant = str(uuid.uuid4())
    response = requests.post(
        f"http://{cfg['WEB_SERVER_ADDRESS']}/v1/probe/{tenant}/streams/s",
        json={"text": "hi"},
        headers={"If-Match": '"0"', "X-Request-ID": "req-logs-1234"},
    )
    assert response.status_code == 201
    lines = [
        json.loads(line) for line in log_stream.getvalue().splitlines() if line.startswith("{")
    ]
    added = [line for line in lines if line.get("event") == "note added"]
    assert len(added) == 1
    assert added[0]["service"] == "probe"
    assert added[0]["entrypoint"] == "add_note"
    assert added[0]["tenant_id"] == tenant
    assert added[0]["correlation_id"] == "req-logs-1234"
