"""The whole suite: every service on one vhost, each with its own database, behind the gateway;
a local HTTPS receiver stands for an integrator's webhook endpoint, a real SMTP server for
notifications' mail."""

import os
import shutil
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field

import psycopg
import pytest
import requests
from nameko.testing.utils import find_free_port

from services.ai.service import AiService
from services.audit.service import AuditService
from services.identity.service import IdentityService
from services.integrations.service import IntegrationsService
from services.notifications.service import NotificationsService
from services.privacy.service import PrivacyService
from services.ticketing.service import TicketingService
from tests.support.fake_oidc import FakeOidcProvider
from tests.support.mailbox import Mailbox
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import WebhookReceiver

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "nginx"))
from render import render  # noqa: E402

CLASSES = {
    "privacy": PrivacyService,
    "identity": IdentityService,
    "ticketing": TicketingService,
    "audit": AuditService,
    "ai": AiService,
    "integrations": IntegrationsService,
    "notifications": NotificationsService,
}


@dataclass
class Suite:
    gateway: str
    provider: FakeOidcProvider
    urls: dict = field(default_factory=dict)  # service -> database urls
    configs: dict = field(default_factory=dict)  # service -> nameko config
    containers: dict = field(default_factory=dict)
    management_uri: str = ""  # RabbitMQ's management API (queues, messages)
    run_dir: str = ""  # the gateway's pid, temporary files and logs (access.log, error.log)
    receiver: WebhookReceiver | None = None  # an integrator's HTTPS endpoint
    mail: Mailbox | None = None  # what the SMTP server notifications sends through received

    def request(self, method, path, token=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.gateway + path, headers=headers, timeout=15, **kwargs)

    def sign_in_google(self, email, hd="example.test", sub=None, name=None, **kwargs):
        token = self.provider.mint_google(
            sub or uuid.uuid4().hex, email, hd=hd, **({"name": name} if name else {})
        )
        response = self.request("POST", "/v1/auth/google", json={"id_token": token}, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def rows(self, service, query, params=()):
        with psycopg.connect(self.urls[service]["admin"]) as conn:
            return conn.execute(query, params).fetchall()

    def dump(self, service):
        """Everything in the service's database as text, the way a backup would hold it."""
        result = subprocess.run(
            ["pg_dump", "--data-only", "--no-owner", self.urls[service]["admin"]],
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout


@pytest.fixture
def webhook_receiver():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def suite(service_config, container_factory, provider_keys, tmp_path, request, webhook_receiver):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        pytest.fail("nginx is needed for the gateway tests (make test installs it as root)")
    with FakeOidcProvider(keys=provider_keys) as provider:
        configs, urls = {}, {}
        mail = Mailbox(tmp_path / "mail", find_free_port()).start()
        request.addfinalizer(mail.stop)
        configs["privacy"], urls["privacy"] = service_config("privacy")
        for name in CLASSES:
            if name != "privacy":
                configs[name], urls[name] = service_config(
                    name, AMQP_URI=configs["privacy"]["AMQP_URI"]
                )
        identity = f"http://{configs['identity']['WEB_SERVER_ADDRESS']}"
        gateway_port = find_free_port()
        # as `make run` configures identity for the development sign-in provider
        configs["identity"].update(
            provider.settings(
                redirect_uri=f"http://127.0.0.1:{gateway_port}/v1/auth/microsoft/callback"
            )
        )
        for name in CLASSES:
            configs[name]["IDENTITY_JWKS_URL"] = identity + "/v1/auth/jwks"
        # the receiver is on this host, with a certificate of its own CA; retries come quickly
        configs["integrations"].update(
            INTEGRATIONS_ALLOWED_HOSTS="127.0.0.1/32",
            INTEGRATIONS_CA_BUNDLE=webhook_receiver.ca_bundle,
            INTEGRATIONS_DISPATCH_INTERVAL=0.05,
            INTEGRATIONS_FEED_POLL_INTERVAL=0.05,
            INTEGRATIONS_RETRY_SCHEDULE="0,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3",
        )
        configs["notifications"].update(
            {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": mail.port, "NOTIFICATIONS_SEND_INTERVAL": 0.1}
        )
        configs["privacy"]["PRIVACY_SAGA_POLL_SECONDS"] = 0.2
        configs["privacy"]["PRIVACY_RECONCILE_SECONDS"] = 5  # as in production, with audit present
        suite = Suite(
            gateway=f"http://127.0.0.1:{gateway_port}",
            provider=provider,
            urls=urls,
            configs=configs,
            management_uri=request.config.getoption("RABBIT_API_URI"),
            run_dir=str(tmp_path),
            receiver=webhook_receiver,
            mail=mail,
        )
        for name, cls in CLASSES.items():
            suite.containers[name] = container_factory(cls, configs[name])
            suite.containers[name].start()
        upstreams = {name: cfg["WEB_SERVER_ADDRESS"] for name, cfg in configs.items()}
        conf = tmp_path / "nginx.conf"
        # as behind a load balancer on this host: the client address comes from X-Forwarded-For
        conf.write_text(
            render(
                run_dir=str(tmp_path),
                listen=f"127.0.0.1:{gateway_port}",
                upstreams=upstreams,
                trusted_proxies=("127.0.0.1/32",),
            )
        )
        gateway = subprocess.Popen(
            [
                nginx,
                "-c",
                str(conf),
                "-p",
                str(tmp_path),
                "-e",
                str(tmp_path / "error.log"),
                "-g",
                "daemon off;",
            ]
        )
        try:
            wait_until(lambda: _answers(suite.gateway + "/v1/auth/jwks"), 15, "the gateway")
            yield suite
        finally:
            gateway.send_signal(signal.SIGQUIT)
            gateway.wait(timeout=10)


def _answers(url):
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.ConnectionError:
        return False
