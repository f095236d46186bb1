import uuid

import psycopg
import requests
from nameko.testing.services import entrypoint_waiter

from tests.support.probe import EchoService, ProbeService


def test_a_note_is_appended_relayed_and_handled(container_factory, service_config):
    cfg, urls = service_config("probe")
    probe = container_factory(ProbeService, cfg)
    echo = container_factory(EchoService, cfg)
    echo.start()
    probe.start()
    tenant = str(uuid.uuid4())
    base = f"http://{cfg['WEB_SERVER_ADDRESS']}"
    with entrypoint_waiter(probe, "handle_probe_note_added", timeout=10):
        r = requests.post(
            f"{base}/v1/probe/{tenant}/streams/s1",
            json={"text": "hi"},
            headers={"If-Match": '"0"', "X-Request-ID": "req-12345678"},
        )
        assert r.status_code == 201, r.text
    with psycopg.connect(urls["admin"]) as conn:
        rows = conn.execute(
            "SELECT stream_id, envelope->>'correlation_id' FROM events ORDER BY position"
        ).fetchall()
    assert rows == [("s1", "req-12345678"), ("seen-s1", "req-12345678")]
