"""Three RabbitMQ nodes of the test's own, clustered: the services list all three, one node
stops while tickets are written, comes back, and every event takes effect exactly once."""

import json
import uuid

import psycopg
import pytest
import requests

from services.audit.service import AuditService
from services.privacy.service import PrivacyService
from services.ticketing.service import TicketingService
from tests.support import rabbit_nodes
from tests.support.waiting import wait_until


@pytest.fixture
def cluster():
    if not rabbit_nodes.available():
        pytest.skip("needs rabbitmq-server installed on this machine")
    with rabbit_nodes.started(3, prefix="dzdesk-cluster") as nodes:
        yield nodes


def queues(node):
    return json.loads(
        node.ctl("list_queues", "name", "type", "members", "messages", "--formatter", "json")
        or "[]"
    )


def running_nodes(node):
    return set(json.loads(node.ctl("cluster_status", "--formatter", "json"))["running_nodes"])


def event_ids(urls, table, prefix="ticketing."):
    column = {"events": "envelope->>'event_id'", "audit_entry": "event_id::text"}[table]
    with psycopg.connect(urls["admin"]) as conn:
        return [
            row[0]
            for row in conn.execute(
                f"SELECT {column} FROM {table} WHERE event_type LIKE %s", (prefix + "%",)
            )
        ]


def unpublished(urls):
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(
            "SELECT count(*) FROM events e, relay_checkpoint c WHERE c.name = 'outbox'"
            " AND (e.txid, e.position) > (c.txid, c.position)"
        ).fetchone()[0]


@pytest.mark.slow
def test_a_node_of_three_stops_while_tickets_are_written_and_every_event_counts_once(
    cluster, service_config, container_factory, token_issuer
):
    uri = cluster.urls()  # kombu's failover list: "amqp://...node1;amqp://...node2;..."
    assert uri.count(";") == 2
    privacy_cfg, _ = service_config("privacy", AMQP_URI=uri)
    ticketing_cfg, ticketing_urls = service_config("ticketing", AMQP_URI=uri)
    audit_cfg, audit_urls = service_config("audit", AMQP_URI=uri, AUDIT_CHECKPOINT_INTERVAL=0)
    for cls, cfg in (
        (PrivacyService, privacy_cfg),
        (TicketingService, ticketing_cfg),
        (AuditService, audit_cfg),
    ):
        container_factory(cls, cfg).start()
    headers = token_issuer.headers(
        tenant_id=str(uuid.uuid4()), roles=("requester",), user_id=str(uuid.uuid4())
    )
    base = f"http://{ticketing_cfg['WEB_SERVER_ADDRESS']}/v1/tickets"

    def open_tickets(count):
        for n in range(count):
            response = requests.post(
                base,
                json={"type": "incident", "title": f"Disk {n} full", "description": "x"},
                headers=headers,
                timeout=10,
            )
            assert response.status_code == 201, response.text

    open_tickets(10)
    wait_until(lambda: len(event_ids(audit_urls, "audit_entry")) >= 10, timeout=60)
    replicated = [q for q in queues(cluster[0]) if q["type"] == "quorum"]
    assert replicated and all(len(q["members"]) == 3 for q in replicated), replicated

    # the node every client tried first: its connections fail over, its queue leaders move
    down = cluster[0]
    down.stop()
    assert down.port_closed(), "the node is still listening: no fault happened"
    assert down.name not in running_nodes(cluster[1])
    open_tickets(20)  # every one answers 201 while the node is away
    assert down.port_closed(), "the node came back during the writes"
    assert len(event_ids(ticketing_urls, "events")) >= 30  # committed, waiting in the outbox

    down.start()
    down.wait_started()
    assert down.name in running_nodes(cluster[1])
    wait_until(lambda: len(event_ids(audit_urls, "audit_entry")) >= 30, timeout=120)
    # the observable end: the outbox relayed and no delivery left in any queue
    wait_until(
        lambda: (
            unpublished(ticketing_urls) == 0
            and all(q["messages"] == 0 for q in queues(cluster[1]) if q["type"] == "quorum")
        ),
        timeout=60,
    )
    audited = event_ids(audit_urls, "audit_entry")
    assert sorted(audited) == sorted(event_ids(ticketing_urls, "events"))
    assert len(set(audited)) == len(audited) >= 30
