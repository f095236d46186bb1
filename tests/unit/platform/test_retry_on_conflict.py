"""shared.retry: a unit of work that lost a race runs again on fresh state, a bounded number of
times."""

import pytest

from shared import retry
from shared.db import UnitOfWork
from shared.eventstore import ConcurrencyError


class FakePool:
    def __init__(self):
        self.lent = 0

    def getconn(self):
        raise AssertionError("not used")


class Service:
    name = "probe"

    def __init__(self, outcomes):
        self.db = UnitOfWork(FakePool(), "probe")
        self.outcomes = list(outcomes)
        self.seen_serialized = []

    @retry.on_conflict
    def command(self):
        self.seen_serialized.append(self.db.serialize_streams)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(retry.eventlet, "sleep", lambda seconds: None)


def test_a_lost_race_is_decided_again_and_its_answer_is_the_fresh_one():
    service = Service([ConcurrencyError("s", 1), ConcurrencyError("s", 2), "done"])
    assert service.command() == "done"
    assert service.seen_serialized == [False, True, True]  # a loser queues for its streams


def test_retries_are_bounded_and_the_last_conflict_is_answered():
    service = Service([ConcurrencyError("s", n) for n in range(retry.ATTEMPTS)])
    with pytest.raises(ConcurrencyError):
        service.command()
    assert service.outcomes == []


def test_a_domain_refusal_is_not_retried():
    class Closed(Exception):
        status = 409

    service = Service([Closed("the ticket is closed"), "never"])
    with pytest.raises(Closed):
        service.command()
    assert service.outcomes == ["never"]


def test_the_conflict_answer_names_no_stream_and_no_version():
    error = ConcurrencyError("tenant-8d2c", 2, 3)
    assert "tenant-" not in str(error) and "2" not in str(error) and "3" not in str(error)
    assert (error.status, error.stream_id, error.expected, error.actual) == (
        409,
        "tenant-8d2c",
        2,
        3,
    )


def test_the_backoff_is_jittered_under_an_exponential_ceiling():
    waits = [retry.backoff(5) for _ in range(200)]
    assert all(0 <= w <= retry.BASE_DELAY * 2**5 for w in waits) and len(set(waits)) > 100
    assert max(retry.backoff(40) for _ in range(50)) <= retry.MAX_DELAY


def test_an_entrypoint_decorator_wraps_its_method_once():
    registered = []

    def decorator(*args, **kwargs):
        if len(args) == 1 and callable(args[0]):
            registered.append(args[0])
            return args[0]
        return lambda fn: registered.append(fn) or fn

    wrapped = retry.retrying(decorator)

    @wrapped
    def plain(self):
        pass

    @wrapped("GET", "/x")
    def with_arguments(self):
        pass

    assert all(fn.retries_on_conflict for fn in registered) and len(registered) == 2
    assert retry.on_conflict(plain) is plain
