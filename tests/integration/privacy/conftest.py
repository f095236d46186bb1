"""Privacy with two test participants on one vhost, and helpers to drive it over HTTP and RPC."""

import time
import uuid

import psycopg
import pytest
import requests
from privacy_participants import Notes, Profiles

from services.privacy.service import PrivacyService
from tests.support.amqp import service_rpc

FAST_SAGAS = {
    "PRIVACY_PARTICIPANTS": "profiles,notes",
    "PRIVACY_RECTIFIERS": "profiles",
    "PRIVACY_SAGA_POLL_SECONDS": 0.05,
    "PRIVACY_RETRY_BASE_SECONDS": 0.2,
    "PRIVACY_RETRY_CAP_SECONDS": 0.4,
    "PRIVACY_RPC_TIMEOUT_SECONDS": 0.5,
    "PRIVACY_RECEIPT_TIMEOUT_SECONDS": 2,
}
FINAL = {"completed", "rejected", "blocked", "ready", "expired"}


def new_id():
    return str(uuid.uuid4())


class Suite:
    """Running services plus what a test needs to reach them."""

    def __init__(
        self,
        container_factory,
        service_config,
        token_issuer,
        participants=(Profiles, Notes),
        **overrides,
    ):
        self.container_factory = container_factory
        self.tokens = token_issuer
        self.config, self.urls = service_config("privacy", **{**FAST_SAGAS, **overrides})
        self.base = f"http://{self.config['WEB_SERVER_ADDRESS']}"
        self.privacy = self.start(PrivacyService, self.config)
        self.participants = {}
        for cls in participants:
            cfg, urls = service_config("probe")
            self.participants[cls.name] = {
                "class": cls,
                "config": cfg,
                "urls": urls,
                "container": self.start(cls, cfg),
            }

    def start(self, cls, cfg):
        container = self.container_factory(cls, cfg)
        container.start()
        return container

    def stop_participant(self, name):
        self.participants[name]["container"].stop()

    def start_participant(self, name):
        part = self.participants[name]
        part["container"] = self.start(part["class"], part["config"])

    def restart_privacy(self, between=lambda: None):
        self.privacy.stop()
        between()
        self.privacy = self.start(PrivacyService, self.config)

    def rpc(self, service):
        return service_rpc(service, self.config)

    def headers(self, tenant, user, roles=("requester",)):
        return self.tokens.headers(tenant_id=tenant, user_id=user, roles=roles)

    def post(self, path, body, tenant, user, roles=("requester",)):
        return requests.post(
            self.base + path, json=body, headers=self.headers(tenant, user, roles), timeout=10
        )

    def get(self, path, tenant, user, roles=("requester",)):
        return requests.get(self.base + path, headers=self.headers(tenant, user, roles), timeout=10)

    def delete(self, path, tenant, user, roles=("requester",)):
        return requests.delete(
            self.base + path, headers=self.headers(tenant, user, roles), timeout=10
        )

    def request(self, tenant, user, body, roles=("requester",)):
        response = self.post("/v1/privacy/requests", body, tenant, user, roles)
        assert response.status_code == 202, response.text
        return response.json()

    def status(self, tenant, request_id):
        response = self.get(
            f"/v1/privacy/requests/{request_id}", tenant, new_id(), ("privacy_officer",)
        )
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, tenant, request_id, until=lambda view: view["status"] in FINAL, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            view = self.status(tenant, request_id)
            if until(view):
                return view
            assert time.monotonic() < deadline, f"saga did not get there: {view}"
            time.sleep(0.05)

    def seed(self, tenant, subject, name="Ada Lovelace", email=None, notes=2):
        """The subject's data in both participants (which also creates their key in privacy)."""
        for part in self.participants:
            with self.rpc(part) as proxy:
                proxy.record(tenant, subject, name, email or f"{subject[:8]}@example.com", notes)

    def purge_calls(self, participant, subject):
        with psycopg.connect(self.participants[participant]["urls"]["admin"]) as conn:
            return conn.execute(
                "SELECT count(*) FROM events WHERE stream_id LIKE %s", (f"purges-{subject}-%",)
            ).fetchone()[0]

    def privacy_rows(self, query, *args):
        with psycopg.connect(self.urls["admin"]) as conn:
            return conn.execute(query, args).fetchall()


@pytest.fixture
def suite(container_factory, service_config, token_issuer):
    return Suite(container_factory, service_config, token_issuer)


@pytest.fixture
def privacy_only(container_factory, service_config, token_issuer):
    """Privacy alone, for what needs no participant (policy versions)."""
    return lambda **overrides: Suite(
        container_factory, service_config, token_issuer, (), **overrides
    )


@pytest.fixture
def make_suite(container_factory, service_config, token_issuer):
    return lambda **overrides: Suite(container_factory, service_config, token_issuer, **overrides)
