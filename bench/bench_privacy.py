"""Erasure time from POST to privacy.erasure_completed for a subject with 10,000 sealed events."""

import json
import pathlib
import subprocess
import sys
import time
import uuid

import requests
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from bench.common import row

ROOT = pathlib.Path(__file__).resolve().parent.parent
PARTICIPANT = "tests.integration.privacy.privacy_participants"
EVENTS = 10_000
SAGA_SETTINGS = {
    "PRIVACY_PARTICIPANTS": "profiles,notes",
    "PRIVACY_RECTIFIERS": "profiles",
    # the default poll (1 s) would dominate; a deployment may tune it the same way
    "PRIVACY_SAGA_POLL_SECONDS": 0.05,
    "PRIVACY_RPC_TIMEOUT_SECONDS": 30,
}


class Services:
    """privacy and two test participants, each in its own process as `dzdesk-service` runs them."""

    def __init__(self, env, token_issuer, **privacy_settings):
        self.amqp_uri = env.make_vhost()
        self.privacy_urls = env.make_database("privacy")
        self.privacy_cfg = env.service_config(
            "privacy",
            self.privacy_urls,
            self.amqp_uri,
            **SAGA_SETTINGS,
            **token_issuer.config,
            **privacy_settings,
        )
        self.processes = [self.spawn("services.privacy.service:PrivacyService", self.privacy_cfg)]
        for name in ("Profiles", "Notes"):
            cfg = env.service_config("probe", env.make_database("probe"), self.amqp_uri)
            self.processes.append(self.spawn(f"{PARTICIPANT}:{name}", cfg))
        self.base = f"http://{self.privacy_cfg['WEB_SERVER_ADDRESS']}"

    @staticmethod
    def spawn(target, cfg):
        return subprocess.Popen(
            [sys.executable, "-m", "tests.support.run_service", target, json.dumps(cfg)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )

    def wait_ready(self, proxy, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                for name in ("profiles", "notes"):
                    getattr(proxy, name).view(str(uuid.uuid4()), str(uuid.uuid4()))
                if requests.get(self.base + "/health/ready", timeout=2).status_code == 200:
                    return
            except Exception:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)

    def close(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)


def erasure_seconds(services, proxy, tokens, events):
    tenant, subject = str(uuid.uuid4()), str(uuid.uuid4())
    for start in range(0, events, 1000):
        proxy.profiles.record(
            tenant, subject, "Ada Lovelace", "ada@example.com", min(1000, events - start)
        )
    proxy.notes.record(tenant, subject, "Ada Lovelace", "ada@example.com", 1)
    queue = Queue(
        f"bench-erasure-{uuid.uuid4().hex[:8]}",
        exclusive=True,
        exchange=Exchange("privacy.events", type="topic", durable=True),
        routing_key="erasure_completed",
    )
    with Connection(services.amqp_uri) as connection:
        channel = connection.channel()
        bound = queue(channel)
        bound.declare()
        started = time.perf_counter()
        response = requests.post(
            services.base + "/v1/privacy/requests",
            json={"type": "erasure", "subject_id": subject},
            timeout=30,
            headers=tokens.headers(tenant_id=tenant, user_id=subject),
        )
        response.raise_for_status()
        while True:
            message = bound.get(no_ack=True)
            if (
                message is not None
                and json.loads(message.body)["data"]["request_id"] == response.json()["id"]
            ):
                elapsed = time.perf_counter() - started
                break
            if time.perf_counter() - started > 120:
                raise TimeoutError("erasure did not complete within 120 s")
            time.sleep(0.005)
    if proxy.profiles.view(tenant, subject) is not None:
        raise AssertionError("the participant still holds the subject's read model")
    return elapsed


def run(env):
    from tests.support.tokens import TokenIssuer

    tokens = TokenIssuer()
    services = Services(env, tokens)
    try:
        with ClusterRpcProxy({"AMQP_URI": services.amqp_uri}, timeout=120) as proxy:
            services.wait_ready(proxy)
            baseline = erasure_seconds(services, proxy, tokens, 10)
            ours = erasure_seconds(services, proxy, tokens, EVENTS)
    finally:
        services.close()
        tokens.close()
    return [row("privacy.erasure.10k_events", ours, "s", baseline)]
