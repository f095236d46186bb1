"""Given-events / when-command harness for the ticketing domain, with random actors and ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.ticketing.domain import (
    Actor,
    NewEvent,
    OpenTicket,
    RecordedEvent,
    Transition,
    decide,
    evolve,
)


def new_id() -> str:
    return str(uuid.uuid4())


class TicketStream:
    """One ticket's stream: runs commands through decide, records their events as the service
    would."""

    def __init__(self, now: datetime):
        self.now = now
        self.events: list[RecordedEvent] = []
        self.state = None

    def when(self, command, at: datetime | None = None) -> list[NewEvent]:
        """Decide and record; `at` moves the stream's clock forward first."""
        if at is not None:
            self.now = at
        decided = decide(self.state, command, self.now)
        for event in decided:
            self.record(event, command.actor.user_id)
        return decided

    def record(self, event: NewEvent, actor_id: str) -> RecordedEvent:
        recorded = RecordedEvent(
            type=event.type,
            data=event.data,
            pii={name: entry["value"] for name, entry in event.pii.items()},
            version=len(self.events) + 1,
            occurred_at=self.now,
            actor_id=actor_id,
        )
        self.state = evolve(self.state, recorded)
        self.events.append(recorded)
        return recorded

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# The path from `new` that puts a ticket in each status (each step made by an agent).
PATHS = {
    "new": [],
    "in_progress": [("in_progress", None)],
    "pending": [("pending", "awaiting_third_party")],
    "resolved": [("in_progress", None), ("resolved", None)],
    "closed": [("in_progress", None), ("resolved", None), ("closed", None)],
    "cancelled": [("cancelled", None)],
}


def actor(*roles: str) -> Actor:
    return Actor(new_id(), frozenset(roles))


@pytest.fixture(name="new_id")
def new_id_fixture():
    """new_id() -> a random id (tests take helpers as fixtures: no imports from conftest)."""
    return new_id


@pytest.fixture
def new_stream(start):
    """new_stream() -> an empty TicketStream whose clock starts at `start`."""
    return lambda: TicketStream(start)


@pytest.fixture
def actor_with():
    """actor_with(*roles) -> an Actor with a random user id."""
    return actor


@pytest.fixture
def agent() -> Actor:
    return actor("agent")


@pytest.fixture
def admin() -> Actor:
    return actor("admin")


@pytest.fixture
def requester() -> Actor:
    return actor("requester")


@pytest.fixture
def stranger() -> Actor:
    """A requester of the same tenant who has nothing to do with the ticket."""
    return actor("requester")


@pytest.fixture
def start() -> datetime:
    return datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def open_ticket(start):
    """open_ticket(requester, status="new", **fields) -> a TicketStream in that status."""

    def build(
        by: Actor, status: str = "new", *, staff: Actor | None = None, **fields
    ) -> TicketStream:
        stream = TicketStream(start)
        fields.setdefault("type", "incident")
        fields.setdefault("title", "Printer on floor 3 jams")
        fields.setdefault("description", "It jams on every page since Monday.")
        stream.when(OpenTicket(actor=by, ticket_id=new_id(), **fields))
        mover = staff or actor("agent")
        for to, reason in PATHS[status]:
            stream.when(Transition(actor=mover, to=to, reason=reason))
        return stream

    return build
