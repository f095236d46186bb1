"""Triage latency through the ai HTTP API for a tenant with 10,000 tickets, against a bare nameko
endpoint; the ai process's memory for 1,000 small tenants, against its model cache budget.

The 10,000 tickets are written straight into the ai database (sealed under keys created in
privacy's keyring), not published through the broker: loading is not what is measured, and
it is minutes faster. The ai service then rebuilds the tenant's model from those rows on its
first request (reported as `ai.model_load`), exactly as after a restart.
"""

import pathlib
import random
import sys
import time

import psycopg
import requests

from bench.common import percentiles, row, start_service, stop_service
from services.ai import store
from services.privacy.keyring import Keyring
from shared.crypto import FieldCipher, KeyCache, MasterKeyRing

TICKETS = 10_000
REQUESTS = 400
MEMORY_TENANTS, MEMORY_TICKETS = 1_000, 50
ROOT = pathlib.Path(__file__).resolve().parent.parent


def _tenant_connection(url, tenant_id):
    conn = psycopg.connect(url)
    conn.execute("SELECT set_config('app.tenant_id', %s, false)", (tenant_id,))
    return conn


def load_tickets(ai_db, privacy_db, master_key, corpus):
    """Seal and store every ticket as the ai event handler would; keys go to privacy's keyring."""
    with (
        _tenant_connection(privacy_db["app"], corpus.tenant_id) as keys_conn,
        _tenant_connection(ai_db["app"], corpus.tenant_id) as conn,
    ):
        cipher = FieldCipher(KeyCache(Keyring(keys_conn, master_key)))
        keys_conn.commit()
        with conn.pipeline():
            for ticket in corpus.tickets:
                requester = ticket.requester.subject_id
                store.record_ticket(
                    conn,
                    corpus.tenant_id,
                    ticket.ticket_id,
                    1,
                    ticket_id=ticket.ticket_id,
                    requester_id=requester,
                    title=cipher.seal_value(corpus.tenant_id, requester, "title", ticket.title),
                    description=cipher.seal_value(
                        corpus.tenant_id, requester, "description", ticket.description
                    ),
                    category=ticket.category,
                    priority=ticket.priority,
                )
        keys_conn.commit()
        conn.commit()


def latencies(session, url, ticket_ids, headers=None):
    samples = []
    for ticket_id in ticket_ids:
        started = time.perf_counter()
        response = session.post(url.format(ticket_id), headers=headers, timeout=30)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return percentiles(samples)


def rss_mib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def run_memory(env):
    """The ai process's resident memory growth once 1,000 tenants of 50 tickets each have a
    model (one triage each), against its model cache budget (AI_MODEL_CACHE_MIB, default)."""
    from services.ai.models.registry import DEFAULT_BUDGET_MIB
    from tests.support.ticket_corpus import tenant_corpus
    from tests.support.tokens import TokenIssuer

    ai_db, privacy_db, amqp_uri = (
        env.make_database("ai"),
        env.make_database("privacy"),
        env.make_vhost(),
    )
    corpora = [tenant_corpus(seed, MEMORY_TICKETS) for seed in range(MEMORY_TENANTS)]
    for corpus in corpora:
        load_tickets(
            ai_db,
            privacy_db,
            MasterKeyRing.from_config({"DZDESK_MASTER_KEY": env.master_key}),
            corpus,
        )
    issuer = TokenIssuer()
    processes = []
    try:
        processes.append(
            start_service(
                "services.privacy.service:PrivacyService",
                env.service_config("privacy", privacy_db, amqp_uri),
            )
        )
        ai_cfg = env.service_config("ai", ai_db, amqp_uri, AI_AUTO_TRIAGE="false", **issuer.config)
        ai = start_service("services.ai.service:AiService", ai_cfg)
        processes.append(ai)
        triage = f"http://{ai_cfg['WEB_SERVER_ADDRESS']}/v1/ai/tickets/{{}}/triage"
        print(f"bench: {MEMORY_TENANTS} tenants stored; measuring", file=sys.stderr, flush=True)
        with requests.Session() as session:
            first = corpora[0]
            headers = issuer.headers(tenant_id=first.tenant_id, roles=("agent",))
            session.post(
                triage.format(first.tickets[0].ticket_id), headers=headers, timeout=60
            ).raise_for_status()  # imports and pools warmed
            before = rss_mib(ai.pid)
            for corpus in corpora:
                headers = issuer.headers(tenant_id=corpus.tenant_id, roles=("agent",))
                session.post(
                    triage.format(corpus.tickets[0].ticket_id), headers=headers, timeout=60
                ).raise_for_status()
            after = rss_mib(ai.pid)
    finally:
        for process in processes:
            stop_service(process)
        issuer.close()
    return [row("ai.memory.1000_tenants_mib", after - before, "MiB", DEFAULT_BUDGET_MIB)]


def run(env):
    return run_triage(env) + run_memory(env)


def run_triage(env):
    from tests.support.ticket_corpus import tenant_corpus
    from tests.support.tokens import TokenIssuer

    corpus = tenant_corpus(random.randrange(10**6), TICKETS)
    ai_db, privacy_db, amqp_uri = (
        env.make_database("ai"),
        env.make_database("privacy"),
        env.make_vhost(),
    )
    load_tickets(
        ai_db, privacy_db, MasterKeyRing.from_config({"DZDESK_MASTER_KEY": env.master_key}), corpus
    )
    issuer = TokenIssuer()
    processes = []
    try:
        privacy_cfg = env.service_config("privacy", privacy_db, amqp_uri)
        processes.append(start_service("services.privacy.service:PrivacyService", privacy_cfg))
        ai_cfg = env.service_config("ai", ai_db, amqp_uri, AI_AUTO_TRIAGE="false", **issuer.config)
        processes.append(start_service("services.ai.service:AiService", ai_cfg))
        bare_cfg = env.service_config("bare", ai_db, amqp_uri)
        processes.append(start_service("bench.common:BareService", bare_cfg))

        headers = issuer.headers(tenant_id=corpus.tenant_id, roles=("agent",))
        triage = f"http://{ai_cfg['WEB_SERVER_ADDRESS']}/v1/ai/tickets/{{}}/triage"
        sample = random.Random(7).sample([t.ticket_id for t in corpus.tickets], REQUESTS)
        print(f"bench: {TICKETS} tickets stored; measuring", file=sys.stderr, flush=True)
        with requests.Session() as session:
            started = time.perf_counter()
            session.post(triage.format(sample[0]), headers=headers, timeout=120).raise_for_status()
            model_load = time.perf_counter() - started
            ours = latencies(session, triage, sample, headers)
            bare = latencies(session, f"http://{bare_cfg['WEB_SERVER_ADDRESS']}/bare/{{}}", sample)
    finally:
        for process in processes:
            stop_service(process)
        issuer.close()
    return [
        row("ai.model_load", model_load, "s"),
        row("ai.triage.p50_ms", ours["p50"], "ms", bare["p50"]),
        row("ai.triage.p99_ms", ours["p99"], "ms", bare["p99"]),
    ]
