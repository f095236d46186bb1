"""First sign-ins of one organization, 8 at a time, next to the same number into new
organizations."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.common import percentiles, row, start_service, stop_service

PEOPLE, AT_ONCE = 200, 8


def _sign_ins(url, tokens):
    """(latencies in ms, failures) of signing every token in, AT_ONCE at a time."""

    def one(token):
        with requests.Session() as session:
            began = time.perf_counter()
            status = session.post(url, json={"id_token": token}, timeout=60).status_code
            return (time.perf_counter() - began) * 1000, status != 200

    with ThreadPoolExecutor(AT_ONCE) as pool:
        outcomes = list(pool.map(one, tokens))
    return [ms for ms, failed in outcomes if not failed], sum(failed for _, failed in outcomes)


def run(env):
    from tests.support.fake_oidc import FakeOidcProvider

    amqp_uri = env.make_vhost()
    processes = []
    with FakeOidcProvider() as provider:
        try:
            privacy_cfg = env.service_config("privacy", env.make_database("privacy"), amqp_uri)
            identity_cfg = env.service_config("identity", env.make_database("identity"), amqp_uri)
            identity_cfg.update(
                {
                    "GOOGLE_CLIENT_IDS": provider.google_client_id,
                    "GOOGLE_CERTS_URL": provider.google_certs_url,
                    "MICROSOFT_CLIENT_ID": provider.microsoft_client_id,
                    "MICROSOFT_CLIENT_SECRET": provider.microsoft_client_secret,
                    "MICROSOFT_JWKS_URL": provider.microsoft_jwks_url,
                    "MICROSOFT_AUTHORITY": provider.microsoft_authority("organizations"),
                }
            )
            for target, cfg in (
                ("services.privacy.service:PrivacyService", privacy_cfg),
                ("services.identity.service:IdentityService", identity_cfg),
            ):
                processes.append(start_service(target, cfg))
            url = f"http://{identity_cfg['WEB_SERVER_ADDRESS']}/v1/auth/google"

            def tokens(one_org):
                hd = f"{uuid.uuid4().hex[:8]}.example"
                return [
                    provider.mint_google(
                        uuid.uuid4().hex,
                        f"p{n}@{hd}",
                        hd=hd if one_org else f"{uuid.uuid4().hex[:8]}.example",
                    )
                    for n in range(PEOPLE)
                ]

            _sign_ins(url, tokens(False)[:40])  # warm-up: keys, pools, plans
            apart, apart_failed = _sign_ins(url, tokens(False))
            together, failed = _sign_ins(url, tokens(True))
        finally:
            for process in processes:
                stop_service(process)
    ours, baseline = percentiles(together or [0]), percentiles(apart or [0])
    return [
        row("identity.first_signins_concurrent.failures", failed, "requests"),
        row("identity.first_signins_concurrent.p50_ms", ours["p50"], "ms", baseline["p50"]),
        row("identity.first_signins_concurrent.p99_ms", ours["p99"], "ms", baseline["p99"]),
        row("identity.first_signins_new_orgs.failures", apart_failed, "requests"),
    ]
