"""A property-based fuzz of the integrations OpenAPI document against the running service:
no 5xx and no undocumented status (as tests/fuzz does for the other services)."""

import uuid

import requests
import schemathesis
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.fuzz.test_openapi_fuzz import _fuzz

ROLES = ("admin", "agent")


def test_a_fuzz_of_every_operation_finds_no_server_error(start_integrations, token_issuer):
    # long polls capped: a fuzzed `wait` must not make the run minutes long
    rig = start_integrations(INTEGRATIONS_FEED_MAX_WAIT=0.1)
    tenant = str(uuid.uuid4())
    rig.subscribe(tenant, "/fuzzed")
    document = requests.get(f"{rig.base}/openapi.json", timeout=10).json()
    failures, seen = [], []
    for result in schemathesis.openapi.from_dict(document).get_all_operations():
        operation = result.ok()
        for mode in GenerationMode:
            headers = token_issuer.headers(tenant_id=tenant, roles=ROLES)
            try:
                _fuzz(operation, mode, rig.base, headers, seen)
            except Unsatisfiable:
                pass
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
    assert seen and not failures, "\n\n".join(failures)
