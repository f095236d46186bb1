"""Tickets load from sealed snapshots: the same state as their whole stream, no plaintext kept."""

import dataclasses
import json
import uuid

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from services.ticketing import snapshots
from services.ticketing.application import TicketDesk
from services.ticketing.dependencies import OffsetClock
from services.ticketing.domain import (
    Actor,
    AddComment,
    EditComment,
    OpenTicket,
    SetPriority,
    Transition,
    replay,
)
from services.ticketing.envelopes import stream_id
from services.ticketing.sla import sla_history
from shared.crypto import ERASED, FieldCipher, LocalKeyring
from shared.db import UnitOfWork

MARK = "Zq" + uuid.uuid4().hex[:10]


@pytest.fixture
def rig(make_database):
    urls = make_database("ticketing")
    with ConnectionPool(urls["app"], min_size=1, max_size=2, kwargs={"autocommit": False}) as pool:
        pool.wait()
        keyring = LocalKeyring()
        yield pool, urls, keyring, FieldCipher(keyring), str(uuid.uuid4())


def _in_unit(rig, work):
    pool, _, _, cipher, tenant = rig
    unit = UnitOfWork(pool, "ticketing")
    try:
        result = work(TicketDesk(unit, cipher, OffsetClock(), tenant))
        unit.finish(commit=True)
        return result
    except BaseException:
        unit.finish(commit=False)
        raise


def _busy_ticket(rig, comments=30):
    requester, agent = (
        Actor(str(uuid.uuid4()), frozenset({"requester"})),
        Actor(str(uuid.uuid4()), frozenset({"agent"})),
    )
    ticket_id = str(uuid.uuid4())
    _in_unit(
        rig,
        lambda desk: desk.run(
            ticket_id,
            requester,
            [
                OpenTicket(
                    actor=requester,
                    ticket_id=ticket_id,
                    type="incident",
                    title=f"Printer {MARK} title",
                    description=f"Desk of {MARK} description",
                )
            ],
        ),
    )
    first = str(uuid.uuid4())
    for n in range(comments):
        who = agent if n % 3 else requester
        comment_id = first if n == 0 else str(uuid.uuid4())
        _in_unit(
            rig,
            lambda desk, who=who, comment_id=comment_id, n=n: desk.run(
                ticket_id,
                who,
                [AddComment(actor=who, comment_id=comment_id, body=f"{MARK} comment {n}")],
            ),
        )
        if n == 10:
            _in_unit(
                rig,
                lambda desk: desk.run(
                    ticket_id,
                    agent,
                    [
                        SetPriority(actor=agent, urgency="high"),
                        Transition(actor=agent, to="in_progress"),
                    ],
                ),
            )
    # an edit of the oldest comment, long folded into a snapshot, still finds it
    _in_unit(
        rig,
        lambda desk: desk.run(
            ticket_id,
            requester,
            [EditComment(actor=requester, comment_id=first, body=f"{MARK} edited")],
        ),
    )
    return ticket_id, requester


def _snapshot(rig, ticket_id):
    _, urls, *_ = rig
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(
            "SELECT stream_version, state FROM snapshots WHERE stream_id = %s",
            (stream_id(ticket_id),),
        ).fetchone()


def test_a_ticket_loaded_from_its_snapshot_is_the_ticket_its_whole_stream_folds_to(rig):
    ticket_id, _ = _busy_ticket(rig)
    version, _ = _snapshot(rig, ticket_id)
    loaded, events = _in_unit(rig, lambda desk: (desk.load(ticket_id), desk.events(ticket_id)))
    assert 0 < version < len(events) == loaded.version
    rebuilt = replay(events)
    assert dataclasses.replace(loaded.state, comments=()) == dataclasses.replace(
        rebuilt, comments=()
    )
    assert loaded.sla == sla_history(events)


def test_a_load_folds_at_most_a_few_events_after_the_snapshot(rig):
    ticket_id, _ = _busy_ticket(rig, comments=40)
    version, _ = _snapshot(rig, ticket_id)
    loaded = _in_unit(rig, lambda desk: desk.load(ticket_id))
    assert loaded.version - version < snapshots.EVERY


def test_a_snapshot_holds_no_personal_text_in_plaintext(rig):
    ticket_id, _ = _busy_ticket(rig)
    _, state = _snapshot(rig, ticket_id)
    assert MARK not in json.dumps(state)
    assert set(state["sealed"]) == {"title", "description"}


def test_a_snapshot_of_an_erased_requester_opens_as_erased(rig):
    ticket_id, requester = _busy_ticket(rig)
    _, _, keyring, _, tenant = rig
    keyring.shred(tenant, requester.user_id)
    loaded = _in_unit(rig, lambda desk: desk.load(ticket_id))
    assert (loaded.state.title, loaded.state.description) == (ERASED, ERASED)


def test_a_snapshot_folded_by_another_domain_version_is_ignored(rig):
    ticket_id, _ = _busy_ticket(rig)
    _, urls, *_ = rig
    with psycopg.connect(urls["admin"]) as conn:
        conn.execute("UPDATE snapshots SET state = jsonb_set(state, '{fingerprint}', '\"old\"')")
    loaded, events = _in_unit(rig, lambda desk: (desk.load(ticket_id), desk.events(ticket_id)))
    assert loaded.snapshot_version == 0
    assert dataclasses.replace(loaded.state, comments=()) == dataclasses.replace(
        replay(events), comments=()
    )
