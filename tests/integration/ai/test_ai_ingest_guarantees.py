"""What ai's consumption of ticketing events keeps however events are grouped: a redelivered
event has its effect once, two tenants' events in one burst stay apart, a stream's later
version wins, and one event that cannot be handled yet neither blocks nor drops the others."""

import datetime
import uuid

import requests

from services.ticketing.domain import Actor, OpenTicket, decide
from shared.envelope import Envelope
from tests.support.amqp import drain

QUEUE = "evt-ticketing-all--ai.handle_ticketing_event"


def _opened(
    rig, tenant, ticket, title, description, *, agent=None, category=None, urgency="medium"
):
    """A ticket_opened envelope as ticketing writes it (pii sealed), not yet published."""
    requester = str(uuid.uuid4())
    actor = Actor(agent or requester, frozenset({"agent" if agent else "requester"}))
    (new,) = decide(
        None,
        OpenTicket(
            actor=actor,
            ticket_id=ticket,
            type="incident",
            title=title,
            description=description,
            category=category,
            urgency=urgency,
            impact=urgency,
            requester_id=requester,
        ),
        datetime.datetime.now(datetime.UTC),
    )
    pii = rig.ticketing.cipher.seal(
        tenant, {field: (value["subject_id"], value["value"]) for field, value in new.pii.items()}
    )
    return Envelope.new(
        f"ticketing.{new.type}",
        tenant,
        ticket,
        new.data,
        pii=pii,
        actor={"user_id": actor.user_id, "roles": sorted(actor.roles)},
    ).with_version(1)


def _publish(rig, envelope, routing_key=None):
    rig.ticketing.producer.publish(
        envelope.to_dict() if isinstance(envelope, Envelope) else envelope,
        exchange=rig.ticketing.exchange,
        routing_key=routing_key or envelope.event_type.split(".", 1)[1],
        declare=[rig.ticketing.exchange],
        retry=True,
        user_id="ticketing",
    )


def _labelled(rig, tenant, count, agent):
    """``count`` agent-opened tickets in two categories (enough for the model to suggest),
    published back to back."""
    tickets = []
    for index in range(count):
        ticket, printer = str(uuid.uuid4()), index % 2 == 0
        title, description = (
            ("Printer jammed", "Paper stuck in the tray.")
            if printer
            else ("VPN drops", "Tunnel disconnects hourly.")
        )
        _publish(
            rig,
            _opened(
                rig,
                tenant,
                ticket,
                title,
                description,
                agent=agent,
                category="hardware" if printer else "software",
                urgency="high" if printer else "low",
            ),
        )
        tickets.append(ticket)
    return tickets


def _handled(rig):
    return rig.raw("SELECT count(*) FROM inbox WHERE consumer = 'ai.handle_ticketing_event'")[0][0]


def _suggestions(rig, tenant, ticket_id):
    return rig.raw(
        "SELECT envelope FROM events WHERE tenant_id = %s AND stream_id = %s",
        tenant,
        f"triage-{ticket_id}",
    )


def test_a_redelivered_ticket_opened_is_recorded_and_suggested_once(start_ai):
    rig = start_ai()
    tenant, agent = str(uuid.uuid4()), str(uuid.uuid4())
    _labelled(rig, tenant, 30, agent)
    rig.wait_until(lambda: _handled(rig) == 30, what="the labelled tickets")
    ticket = str(uuid.uuid4())
    envelope = _opened(rig, tenant, ticket, "Printer jammed again", "Paper stuck.")

    # delivered, then delivered again amid other events (a redelivery after a lost ack)
    _publish(rig, envelope)
    _labelled(rig, tenant, 5, agent)
    _publish(rig, envelope)
    _labelled(rig, tenant, 5, agent)
    rig.wait_until(lambda: _handled(rig) == 41, what="every distinct event")
    rig.wait_until(lambda: len(_suggestions(rig, tenant, ticket)) >= 1, what="the suggestion")

    assert rig.raw("SELECT count(*) FROM ai_tickets WHERE ticket_id = %s", ticket) == [(1,)]
    ((suggested,),) = _suggestions(rig, tenant, ticket)
    assert suggested["causation_id"] == envelope.event_id
    assert _handled(rig) == 41


def test_two_tenants_events_in_one_burst_stay_in_their_own_tenant(start_ai):
    rig = start_ai()
    agent = str(uuid.uuid4())
    tenants = [str(uuid.uuid4()), str(uuid.uuid4())]
    tickets = {tenant: [] for tenant in tenants}
    # interleaved, identical texts: a burst holds both tenants' events
    for _ in range(15):
        for tenant in tenants:
            tickets[tenant] += _labelled(rig, tenant, 2, agent)
    rig.wait_until(lambda: _handled(rig) == 60, what="both tenants' events")
    probes = {}
    for tenant in tenants:
        probes[tenant] = str(uuid.uuid4())
        _publish(rig, _opened(rig, tenant, probes[tenant], "Printer jammed", "Paper stuck."))
    rig.wait_until(lambda: _handled(rig) == 62, what="the probes")

    for tenant in tenants:
        assert rig.raw("SELECT count(*) FROM ai_tickets WHERE tenant_id = %s", tenant) == [(31,)]
        rig.wait_until(lambda t=tenant: _suggestions(rig, t, probes[t]), what="a suggestion")
        ((suggested,),) = _suggestions(rig, tenant, probes[tenant])
        assert suggested["tenant_id"] == tenant
        assert suggested["data"]["similar"]
        assert set(suggested["data"]["similar"]) <= set(tickets[tenant])
        body = requests.get(
            f"{rig.base}/tickets/{tickets[tenant][0]}/similar?limit=50",
            headers=rig.headers(tenant),
            timeout=10,
        ).json()
        assert {item["ticket_id"] for item in body["items"]} <= {*tickets[tenant], probes[tenant]}


def test_within_a_burst_a_streams_later_version_wins_whatever_the_arrival_order(start_ai):
    rig = start_ai(AI_AUTO_TRIAGE="false")
    tenant, agent = str(uuid.uuid4()), str(uuid.uuid4())
    ticket = str(uuid.uuid4())
    opened = _opened(
        rig, tenant, ticket, "Printer jammed", "Paper stuck.", agent=agent, category="hardware"
    )
    later = [
        Envelope.new(
            "ticketing.ticket_updated",
            tenant,
            ticket,
            {"fields": ["category"], "category": category},
            actor={"user_id": agent, "roles": ["agent"]},
        ).with_version(version)
        for version, category in ((2, "printing"), (3, "network"), (4, "facilities"))
    ]
    # version 4 arrives before 3: the stored category is still version 4's
    for envelope in (opened, later[0], later[2], later[1]):
        _publish(rig, envelope)
    rig.wait_until(lambda: _handled(rig) == 4, what="the four events")

    assert rig.raw("SELECT category, category_v FROM ai_tickets WHERE ticket_id = %s", ticket) == [
        ("facilities", 4)
    ]


def test_an_event_that_cannot_be_handled_yet_is_retried_and_holds_back_nothing(start_ai):
    rig = start_ai(AI_AUTO_TRIAGE="false", EVENT_RETRY_BACKOFF_MS="100", EVENT_MAX_ATTEMPTS="10")
    tenant, agent = str(uuid.uuid4()), str(uuid.uuid4())
    early = str(uuid.uuid4())
    # an old-style update (title in clear) of a ticket ai has not seen opened yet, in the
    # same burst as other events, the ticket's opening last
    update = (
        Envelope.new(
            "ticketing.ticket_updated",
            tenant,
            early,
            {"fields": ["title"]},
            actor={"user_id": agent, "roles": ["agent"]},
        )
        .with_version(2)
        .to_dict()
    )
    update["data"]["title"] = "Printer on fire"  # as written before titles were sealed
    _publish(rig, update, "ticket_updated")
    others = _labelled(rig, tenant, 20, agent)
    _publish(rig, _opened(rig, tenant, early, "Printer jammed", "Paper stuck.", agent=agent))
    rig.wait_until(lambda: _handled(rig) == 22, what="every event, the early update retried")

    assert rig.raw("SELECT count(*) FROM ai_tickets WHERE ticket_id = ANY(%s)", others) == [(20,)]
    assert rig.raw("SELECT title_v FROM ai_tickets WHERE ticket_id = %s", early) == [(2,)]


def test_an_invalid_envelope_in_a_burst_is_dead_lettered_and_the_rest_handled(start_ai):
    rig = start_ai(AI_AUTO_TRIAGE="false")
    tenant, agent = str(uuid.uuid4()), str(uuid.uuid4())
    _labelled(rig, tenant, 5, agent)
    _publish(rig, {"event_type": "ticketing.ticket_opened", "nonsense": True}, "ticket_opened")
    _labelled(rig, tenant, 5, agent)
    rig.wait_until(lambda: _handled(rig) == 10, what="the valid events")

    dead = drain(rig.cfg["AMQP_URI"], f"{QUEUE}.dlq", expect=1, timeout=10)
    assert [body for body, _ in dead] == [
        {"event_type": "ticketing.ticket_opened", "nonsense": True}
    ]
