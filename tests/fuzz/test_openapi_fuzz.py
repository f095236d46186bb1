"""A property-based fuzz of every service's OpenAPI document against the real running services.

Each documented operation gets FUZZ_EXAMPLES valid and FUZZ_EXAMPLES invalid requests from
schemathesis (derandomized: the same requests every run, so it cannot flake), with a token of
a user holding every role. Any 5xx, or a status the document does not list, fails the test.
"""

import json
import os
import time
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, status_code_conformance

from services.ai.service import AiService
from services.audit.service import AuditService
from services.identity.service import IdentityService
from services.notifications.service import NotificationsService
from services.privacy.service import PrivacyService
from services.ticketing.service import TicketingService
from tests.support.fake_oidc import FakeOidcProvider

SERVICES = {
    "privacy": PrivacyService,
    "identity": IdentityService,
    "ticketing": TicketingService,
    "audit": AuditService,
    "ai": AiService,
    "notifications": NotificationsService,
}
ROLES = ("admin", "agent", "requester", "compliance_officer")
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 20))
CHECKS = [not_a_server_error, status_code_conformance]


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx, value):
    """A body of ticketing's bulk import: the generated value as one NDJSON line."""
    return (json.dumps(value) + "\n").encode()


@pytest.fixture
def running(container_factory, service_config, provider_keys, monkeypatch):
    """The services on one vhost, each on its own database, tokens from the test issuer,
    sign-in providers configured (a local fake), so that no route answers 503 for want of one."""
    with FakeOidcProvider(keys=provider_keys) as provider:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", provider.ca_bundle_path)  # its TLS endpoints
        configs = {"privacy": service_config("privacy")[0]}
        for name in SERVICES:
            if name != "privacy":
                configs[name] = service_config(name, AMQP_URI=configs["privacy"]["AMQP_URI"])[0]
        configs["identity"].update(
            {
                "GOOGLE_CLIENT_IDS": provider.google_client_id,
                "GOOGLE_CERTS_URL": provider.google_certs_url,
                "MICROSOFT_CLIENT_ID": provider.microsoft_client_id,
                "MICROSOFT_CLIENT_SECRET": provider.microsoft_client_secret,
                "MICROSOFT_JWKS_URL": provider.microsoft_jwks_url,
                "MICROSOFT_AUTHORITY": provider.microsoft_authority("organizations"),
                "MICROSOFT_REDIRECT_URI": "http://127.0.0.1:9/v1/auth/microsoft/callback",
            }
        )
        for name, cls in SERVICES.items():
            container_factory(cls, configs[name]).start()
        yield {name: f"http://{cfg['WEB_SERVER_ADDRESS']}" for name, cfg in configs.items()}


def _fuzz(operation, mode, base, headers, seen):
    @settings(
        max_examples=FUZZ_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        response = case.call(base_url=base, headers=headers, timeout=30)
        seen.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    fuzz()


def test_a_fuzz_of_every_documented_operation_finds_no_server_error_and_no_undocumented_status(
    running, token_issuer
):
    tenant, user = str(uuid.uuid4()), str(uuid.uuid4())
    failures, seen, operations = [], [], 0
    started = time.monotonic()
    for service, base in running.items():
        schema = schemathesis.openapi.from_dict(
            requests.get(f"{base}/openapi.json", timeout=10).json()
        )
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            for mode in GenerationMode:
                # a fresh token per run: an operation may sign the user out or erase them
                headers = token_issuer.headers(tenant_id=tenant, roles=ROLES, user_id=user)
                try:
                    _fuzz(operation, mode, base, headers, seen)
                except Unsatisfiable:
                    pass  # nothing of this operation can be made invalid (no body, string paths)
                except (Exception, BaseExceptionGroup) as exc:  # a failed check, with its request
                    failures.append(f"{service} {operation.label} ({mode.value}): {exc}"[:3000])
    elapsed = time.monotonic() - started
    print(
        f"fuzz: {operations} operations, {len(seen)} requests in {elapsed:.1f} s,"
        f" statuses {sorted(set(seen))}"
    )
    assert not failures, "\n\n".join(failures)
