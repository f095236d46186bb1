"""ai.ingest: tickets/s one ai process learns from ticketing events, against a raw baseline.

3,000 `ticketing.ticket_opened` envelopes of five tenants (opened by an agent, so labelled;
title and description sealed under keys of privacy's keyring, as ticketing seals them) are
published as ticketing's relay does, in confirmed batches. Measured: from the first publish
until every event is in ai's inbox and one triage request per tenant has answered (the model
has then learned every ticket), with auto-triage on (each opened ticket also gets its
suggestion). Baseline: publishing the same messages to a queue nobody consumes.
"""

import datetime
import json
import sys
import time

import psycopg
import requests
from kombu import Connection, Exchange, Queue

from bench.common import rate, row, start_service, stop_service
from services.privacy.keyring import Keyring
from services.ticketing.domain import Actor, OpenTicket, decide
from shared.crypto import FieldCipher, KeyCache, MasterKeyRing
from shared.envelope import Envelope
from shared.relay import ConfirmingPublisher

TENANTS, PER_TENANT = 5, 600


def _tenant_connection(url, tenant_id):
    conn = psycopg.connect(url)
    conn.execute("SELECT set_config('app.tenant_id', %s, false)", (tenant_id,))
    return conn


def opened_events(privacy_db, master_key, corpora):
    """(routing key, body) of every ticket's ticket_opened, tenants interleaved."""
    now = datetime.datetime.now(datetime.UTC)
    per_tenant = []
    for corpus in corpora:
        bodies = []
        agent = corpus.agents[0].subject_id
        actor = Actor(agent, frozenset({"agent"}))
        with _tenant_connection(privacy_db["app"], corpus.tenant_id) as keys_conn:
            cipher = FieldCipher(KeyCache(Keyring(keys_conn, master_key)))
            for ticket in corpus.tickets:
                (new,) = decide(
                    None,
                    OpenTicket(
                        actor=actor,
                        ticket_id=ticket.ticket_id,
                        type="incident",
                        title=ticket.title,
                        description=ticket.description,
                        category=ticket.category,
                        requester_id=ticket.requester.subject_id,
                    ),
                    now,
                )
                pii = cipher.seal(
                    corpus.tenant_id,
                    {f: (v["subject_id"], v["value"]) for f, v in new.pii.items()},
                )
                envelope = Envelope.new(
                    f"ticketing.{new.type}",
                    corpus.tenant_id,
                    ticket.ticket_id,
                    new.data,
                    pii=pii,
                    actor={"user_id": agent, "roles": ["agent"]},
                ).with_version(1)
                bodies.append((new.type, json.dumps(envelope.to_dict()).encode()))
            keys_conn.commit()
        per_tenant.append(bodies)
    return [bodies[i] for i in range(PER_TENANT) for bodies in per_tenant]


def publish(amqp_uri, messages, batch=500):
    publisher = ConfirmingPublisher(amqp_uri, "ticketing.events")
    try:
        for start in range(0, len(messages), batch):
            publisher.publish(messages[start : start + batch])
    finally:
        publisher.close()


def raw_publish_rate(env, messages):
    amqp_uri = env.make_vhost()
    exchange = Exchange("ticketing.events", type="topic", durable=True)
    with Connection(amqp_uri) as connection:
        Queue(
            "sink",
            exchange=exchange,
            routing_key="#",
            durable=True,
            queue_arguments={"x-queue-type": "quorum"},
        )(connection.default_channel).declare()
    started = time.perf_counter()
    publish(env.as_user(amqp_uri, "ticketing"), messages)
    return rate(len(messages), time.perf_counter() - started)


def handled(admin_url):
    with psycopg.connect(admin_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM inbox WHERE consumer = 'ai.handle_ticketing_event'"
        ).fetchone()[0]


def ingest_rate(env, messages, corpora):
    from tests.support.tokens import TokenIssuer

    ai_db, privacy_db = env.make_database("ai"), env.make_database("privacy")
    amqp_uri = env.make_vhost()
    master = MasterKeyRing.from_config({"DZDESK_MASTER_KEY": env.master_key})
    messages = opened_events(privacy_db, master, corpora)
    issuer = TokenIssuer()
    processes = []
    try:
        privacy_cfg = env.service_config("privacy", privacy_db, amqp_uri)
        processes.append(start_service("services.privacy.service:PrivacyService", privacy_cfg))
        ai_cfg = env.service_config("ai", ai_db, amqp_uri, **issuer.config)
        processes.append(start_service("services.ai.service:AiService", ai_cfg))
        triage = f"http://{ai_cfg['WEB_SERVER_ADDRESS']}/v1/ai/tickets/{{}}/triage"
        # ai's burst consumer binds its queue as it starts: publishing at once loses nothing
        print(f"bench: publishing {len(messages)} ticket_opened", file=sys.stderr, flush=True)
        started = time.perf_counter()
        publish(env.as_user(amqp_uri, "ticketing"), messages)
        deadline = time.monotonic() + 300
        while handled(ai_db["admin"]) < len(messages):
            if time.monotonic() > deadline:
                raise RuntimeError("ai did not handle every event in time")
            time.sleep(0.05)
        with requests.Session() as session:
            for corpus in corpora:
                headers = issuer.headers(tenant_id=corpus.tenant_id, roles=("agent",))
                session.post(
                    triage.format(corpus.tickets[-1].ticket_id), headers=headers, timeout=120
                ).raise_for_status()
        return rate(len(messages), time.perf_counter() - started), messages
    finally:
        for process in processes:
            stop_service(process)
        issuer.close()


def run(env):
    from tests.support.ticket_corpus import tenant_corpus

    corpora = [tenant_corpus(9000 + seed, PER_TENANT) for seed in range(TENANTS)]
    ours, messages = ingest_rate(env, None, corpora)
    raw = raw_publish_rate(env, messages)
    return [row("ai.ingest", ours, "tickets/s", raw)]
