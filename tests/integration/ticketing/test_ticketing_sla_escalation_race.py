"""Two SLA timer runs on one ticket, the second deciding on a stale load: it loses the race at
the append (nothing of it is written), and deciding again from the stream escalates nothing
twice. Desks on the real database, a clock the test holds."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import ConnectionPool

from services.ticketing.application import TicketDesk
from services.ticketing.domain import Actor, OpenTicket
from services.ticketing.schemas import policy_document
from services.ticketing.sla import BusinessCalendar, Escalation, SlaMatch, SlaPolicy
from shared.crypto import FieldCipher, LocalKeyring
from shared.db import UnitOfWork
from shared.eventstore import ConcurrencyError

NETWORK = str(uuid.uuid4())


class HandClock:
    def __init__(self):
        self.at = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)

    def now(self):
        return self.at


@pytest.fixture
def rig(make_database):
    urls = make_database("ticketing")
    with ConnectionPool(urls["app"], min_size=2, max_size=2, kwargs={"autocommit": False}) as pool:
        pool.wait()
        yield pool, FieldCipher(LocalKeyring()), str(uuid.uuid4()), HandClock()


def unit_of(rig):
    pool, cipher, tenant, clock = rig
    unit = UnitOfWork(pool, "ticketing")
    return unit, TicketDesk(unit, cipher, clock, tenant)


def in_unit(rig, work):
    unit, desk = unit_of(rig)
    try:
        result = work(desk)
        unit.finish(commit=True)
        return result
    except BaseException:
        unit.finish(commit=False)
        raise


def test_a_timer_run_on_a_stale_load_loses_the_race_and_escalates_nothing_twice(rig):
    clock = rig[3]
    targets = {p: (1, 60) for p in ("low", "medium", "high", "critical")}
    policy = SlaPolicy(
        BusinessCalendar.always_open(),
        targets,
        0.75,
        "racy",
        SlaMatch(types={"incident"}),
        (
            Escalation("breach", "reassign", "first_response", NETWORK),
            Escalation("breach", "raise_priority", "first_response"),
        ),
    )
    admin = Actor(str(uuid.uuid4()), frozenset({"admin"}))
    requester = Actor(str(uuid.uuid4()), frozenset({"requester"}))
    ticket_id = str(uuid.uuid4())
    in_unit(rig, lambda desk: desk.set_policies(admin, [policy_document(policy)]))
    opening = OpenTicket(actor=requester, ticket_id=ticket_id, type="incident", title="VPN down")
    in_unit(rig, lambda desk: desk.run(ticket_id, requester, [opening], new=True))
    clock.at += timedelta(minutes=2)

    stale_unit, stale = unit_of(rig)
    stale.load(ticket_id)  # this run read the stream before the other recorded anything
    first = in_unit(rig, lambda desk: desk.record_due_sla_alerts(ticket_id))
    assert [e.name for e in first] == [
        "sla_breached",  # its warning is overtaken: not recorded
        "sla_escalated",
        "ticket_assigned",
        "sla_escalated",
        "priority_changed",
    ]
    with pytest.raises(ConcurrencyError):
        stale.record_due_sla_alerts(ticket_id)
    stale_unit.finish(commit=False)

    # the entrypoint decides again on a fresh unit: nothing is due any more
    assert in_unit(rig, lambda desk: desk.record_due_sla_alerts(ticket_id)) == []
    names = [e.type for e in in_unit(rig, lambda desk: desk.events(ticket_id))]
    assert names.count("sla_escalated") == 2 and names.count("ticket_assigned") == 1
    assert names.count("priority_changed") == 1
