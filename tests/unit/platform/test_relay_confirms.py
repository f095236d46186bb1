"""Relay confirms per delivery tag: multiple acks, nacks, out-of-order and lost confirms."""

import json
import struct
import time
from datetime import UTC, datetime

import pytest

from shared import amqp_frames
from shared.relay import Confirms, PublishNotConfirmed, Relay


def confirms_after(sent, *settlements):
    confirms = Confirms()
    confirms.sent_more(sent)
    for kind, tag, multiple in settlements:
        getattr(confirms, kind)(tag, multiple)
    return confirms


def test_a_multiple_ack_confirms_every_tag_up_to_its_own():
    confirms = confirms_after(5, ("ack", 3, True))
    assert (confirms.through, confirms.outstanding) == (3, 2)
    confirms.ack(5, True)
    assert (confirms.through, confirms.outstanding, confirms.refused) == (5, 0, False)


def test_single_acks_out_of_order_confirm_only_an_unbroken_prefix():
    confirms = confirms_after(5, ("ack", 5, False), ("ack", 2, False), ("ack", 1, False))
    assert (confirms.through, confirms.outstanding) == (2, 2)  # 3 and 4 still unconfirmed
    confirms.ack(4, False)
    assert confirms.through == 2
    confirms.ack(3, False)
    assert (confirms.through, confirms.outstanding) == (5, 0)


def test_a_high_ack_does_not_cover_a_lost_confirm_below_it():
    # the old `max(confirmed, tag)` took this for "all five confirmed"
    confirms = confirms_after(
        5, ("ack", 1, False), ("ack", 3, False), ("ack", 4, False), ("ack", 5, False)
    )
    assert (confirms.through, confirms.outstanding) == (1, 1)


def test_a_single_ack_then_a_multiple_ack_past_it():
    confirms = confirms_after(6, ("ack", 4, False), ("ack", 2, True))
    assert confirms.through == 2
    confirms.ack(3, False)
    assert confirms.through == 4
    confirms.ack(6, True)
    assert (confirms.through, confirms.outstanding) == (6, 0)


def test_a_nack_holds_the_prefix_below_it_even_when_later_tags_are_acked():
    confirms = confirms_after(6, ("ack", 2, True), ("nack", 3, False), ("ack", 6, True))
    assert confirms.refused and confirms.nacked == {3}
    assert confirms.through == 2


def test_a_multiple_nack_refuses_every_unsettled_tag_up_to_its_own():
    confirms = confirms_after(
        6, ("ack", 1, False), ("ack", 3, False), ("nack", 4, True), ("ack", 6, True)
    )
    assert confirms.nacked == {2, 4}
    assert confirms.through == 1


class FakeConnection:
    def __init__(self):
        self.checkpoints = []

    def execute(self, query, params=()):
        if query.startswith("UPDATE relay_checkpoint"):
            self.checkpoints.append(params)
        return self


class FakePublisher:
    """Stands in for the broker's side: settles the batch's tags as it is told to."""

    def __init__(self, settle):
        self.confirms = Confirms()
        self.settle = settle

    @property
    def sent(self):
        return self.confirms.sent

    def send(self, messages):
        first = self.confirms.sent + 1
        self.confirms.sent_more(len(messages))
        for kind, offset, multiple in self.settle:
            getattr(self.confirms, kind)(first + offset, multiple)

    def wait_confirmed(self):
        if self.confirms.refused or self.confirms.outstanding:
            raise PublishNotConfirmed("not all confirmed")


def relay_with(settle, rows):
    relay = Relay("probe", "unused", "amqp://unused", batch_size=100)
    relay.conn, relay.publisher, relay.checkpoint = (
        FakeConnection(),
        FakePublisher(settle),
        ("0", 0),
    )
    relay.prefetched = rows
    return relay


ROWS = [(str(100 + n), n, "{}", "probe.happened") for n in range(5)]


def test_the_checkpoint_moves_past_a_batch_once_all_of_it_is_confirmed():
    relay = relay_with([("ack", 1, False), ("ack", 0, False), ("ack", 4, True)], list(ROWS))
    assert relay.run_once() == 5
    assert relay.conn.checkpoints == [("104", 4)]


def test_after_a_nack_the_checkpoint_stops_below_the_first_unconfirmed_event():
    relay = relay_with([("ack", 1, True), ("nack", 2, False), ("ack", 4, True)], list(ROWS))
    with pytest.raises(PublishNotConfirmed):
        relay.run_once()
    assert relay.conn.checkpoints == [("101", 1)]
    assert relay.checkpoint == ("101", 1)


def test_a_lost_confirm_keeps_the_checkpoint_below_it():
    relay = relay_with(
        [("ack", 0, False), ("ack", 2, False), ("ack", 3, False), ("ack", 4, False)], list(ROWS)
    )
    with pytest.raises(PublishNotConfirmed):
        relay.run_once()
    assert relay.conn.checkpoints == [("100", 0)]


def aged_rows(*ages):
    """Rows whose envelopes occurred `age` seconds ago, oldest first."""
    return [
        (
            str(100 + n),
            n,
            json.dumps({"occurred_at": datetime.fromtimestamp(time.time() - age, UTC).isoformat()}),
            "probe.happened",
        )
        for n, age in enumerate(ages)
    ]


def test_after_a_nack_the_lag_is_the_age_of_the_first_unconfirmed_event():
    relay = relay_with([("ack", 1, True), ("nack", 2, False)], aged_rows(50, 40, 30, 20, 10))
    with pytest.raises(PublishNotConfirmed):
        relay.run_once()
    assert 30 <= relay.lag() < 35


def test_with_nothing_unconfirmed_and_nothing_read_ahead_the_relay_is_caught_up():
    relay = relay_with([("ack", 2, True)], aged_rows(50, 40, 30))
    assert relay.run_once() == 3
    assert relay.lag() == 0


def test_an_envelope_without_a_readable_time_counts_from_now():
    relay = relay_with([], [("100", 0, "{}", "probe.happened")])
    with pytest.raises(PublishNotConfirmed):
        relay.run_once()
    assert 0 <= relay.lag() < 1


def frames_of(raw):
    while raw:
        kind, _, size = struct.unpack(">BHI", raw[:7])
        yield kind, raw[7 : 7 + size]
        raw = raw[8 + size :]


def test_published_frames_carry_the_user_id_property():
    from amqp.basic_message import Message

    raw = amqp_frames.Publisher(1, "ticketing.events", 131072, "ticketing").publish(
        "ticket_opened", b"{}"
    )
    (_, _method), (kind, header), (_, body) = frames_of(raw)
    message = Message()
    message._load_properties(60, header, 12)  # after class, weight and body size
    assert (kind, body) == (amqp_frames.HEADER, b"{}")
    assert message.properties == {
        "content_type": "application/json",
        "content_encoding": "utf-8",
        "delivery_mode": 2,
        "user_id": "ticketing",
    }
