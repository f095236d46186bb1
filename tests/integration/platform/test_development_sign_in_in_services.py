"""Every service refuses to start in production with a development sign-in, and labels
it elsewhere."""

import os
import subprocess
import sys

import pytest
import requests

from services.ai.service import AiService
from services.audit.service import AuditService
from services.identity.service import IdentityService
from services.notifications.service import NotificationsService
from services.privacy.service import PrivacyService
from services.ticketing.service import TicketingService
from shared.environment import DevelopmentSignInInProduction

SERVICES = {
    "identity": IdentityService,
    "ticketing": TicketingService,
    "privacy": PrivacyService,
    "audit": AuditService,
    "ai": AiService,
    "notifications": NotificationsService,
}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_a_service_refuses_to_start_in_production_with_the_development_provider_configured(
    name, service_config, container_factory, provider
):
    cfg, _ = service_config(name, DZDESK_ENV="production", **provider.settings())
    container = container_factory(SERVICES[name], cfg)
    with pytest.raises(DevelopmentSignInInProduction):
        container.start()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{cfg['WEB_SERVER_ADDRESS']}/health/live", timeout=2)


def test_outside_production_the_readiness_body_says_development_sign_in_is_on(
    service_config, container_factory, provider
):
    cfg, _ = service_config("ticketing", **provider.settings())
    container_factory(TicketingService, cfg).start()
    ready = requests.get(f"http://{cfg['WEB_SERVER_ADDRESS']}/health/ready", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["development_sign_in"].startswith("DEVELOPMENT SIGN-IN")
    assert provider.http_url in ready.json()["development_sign_in"]


def test_without_it_the_readiness_body_says_nothing_of_it(service_config, container_factory):
    cfg, _ = service_config("ticketing")
    container_factory(TicketingService, cfg).start()
    ready = requests.get(f"http://{cfg['WEB_SERVER_ADDRESS']}/health/ready", timeout=5)
    assert "development_sign_in" not in ready.json()


def test_dzdesk_service_exits_with_the_reason_in_production_with_a_development_sign_in(
    service_config, provider
):
    cfg, urls = service_config("ticketing")
    env = {
        **os.environ,
        "DZDESK_ENV": "production",
        "AMQP_URI": cfg["AMQP_URI"],
        "PORT": cfg["WEB_SERVER_ADDRESS"].split(":")[1],
        "HOST": "127.0.0.1",
        "TICKETING_DATABASE_URL": urls["app"],
        "TICKETING_SYSTEM_DATABASE_URL": urls["system"],
        "CURSOR_KEY": cfg["CURSOR_KEY"],
        **provider.settings(),
    }
    launched = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "dzdesk-service"), "ticketing"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert launched.returncode != 0
    assert "DZDESK_ENV is production but DZDESK_DEV_SIGN_IN_URL configures" in launched.stderr
