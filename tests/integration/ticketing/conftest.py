"""Fixtures of the ticketing integration tests: privacy (for subject keys) and ticketing on one
vhost."""

import uuid

import pytest
import requests

from services.privacy.service import PrivacyService
from services.ticketing.service import TicketingService


class TicketingApi:
    """The ticketing HTTP API as one tenant's users call it, with tokens from the test issuer."""

    def __init__(self, base, issuer, tenant_id=None):
        self.base = base
        self.issuer = issuer
        self.tenant_id = tenant_id or str(uuid.uuid4())

    def user(self, *roles, user_id=None):
        return {"user_id": user_id or str(uuid.uuid4()), "roles": roles or ("requester",)}

    def headers(self, who, **extra):
        return {
            **self.issuer.headers(
                tenant_id=self.tenant_id, roles=who["roles"], user_id=who["user_id"]
            ),
            **extra,
        }

    def call(self, method, path, who, json=None, **headers):
        return requests.request(
            method, self.base + path, json=json, headers=self.headers(who, **headers), timeout=10
        )

    def open(self, who, **fields):
        body = {
            "type": "incident",
            "title": "VPN drops every hour",
            "description": "My laptop loses the VPN at :00.",
            **fields,
        }
        response = self.call("POST", "/v1/tickets", who, body)
        assert response.status_code == 201, response.text
        return response.json()

    def other_tenant(self):
        return TicketingApi(self.base, self.issuer)


@pytest.fixture
def ticketing_factory(container_factory, service_config, token_issuer):
    """ticketing_factory(**config) -> (api, cfg, urls, container) with privacy on the same vhost
    (both on `amqp_uri` when given)."""

    def start(amqp_uri=None, **overrides):
        privacy_cfg, _ = service_config("privacy", **({"AMQP_URI": amqp_uri} if amqp_uri else {}))
        privacy = container_factory(PrivacyService, privacy_cfg)
        privacy.start()
        overrides.setdefault("SLA_TIMER_INTERVAL", 0.2)
        cfg, urls = service_config("ticketing", AMQP_URI=privacy_cfg["AMQP_URI"], **overrides)
        container = container_factory(TicketingService, cfg)
        container.start()
        api = TicketingApi(f"http://{cfg['WEB_SERVER_ADDRESS']}", token_issuer)
        return api, cfg, urls, container

    return start


@pytest.fixture
def ticketing(ticketing_factory):
    return ticketing_factory()


@pytest.fixture
def api(ticketing):
    return ticketing[0]


@pytest.fixture
def requester(api):
    return api.user("requester")


@pytest.fixture
def agent(api):
    return api.user("agent")


@pytest.fixture
def admin(api):
    return api.user("admin")
