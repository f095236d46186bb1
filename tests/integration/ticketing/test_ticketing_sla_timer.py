"""SLA clocks through the API and the timer that records warnings and breaches on time, on a
clock the test holds: no real-time window, no business window derived from today's date."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import entrypoint_hook

from services.ticketing.service import TicketingService
from services.ticketing.settings import INJECTED_CLOCK_KEY
from tests.support.amqp import bind_queue, drain

ALWAYS = {day: [["00:00", "00:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
ONE_MINUTE = {
    p: {"first_response_minutes": 1, "resolution_minutes": 1}
    for p in ("low", "medium", "high", "critical")
}
TINY_POLICY = {"timezone": "Europe/Paris", "hours": ALWAYS, "targets": ONE_MINUTE}
# a Wednesday morning weeks away from a daylight-saving change in Paris
START = datetime(2025, 3, 12, 9, 0, tzinfo=UTC)


class HandClock:
    """Stands still until the test moves it."""

    def __init__(self, at=START):
        self.at = at

    def now(self):
        return self.at

    def advance(self, seconds):
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return HandClock()


def started(ticketing_factory, clock, policy=TINY_POLICY, **config):
    api, cfg, urls, container = ticketing_factory(**{INJECTED_CLOCK_KEY: clock, **config})
    admin = api.user("admin")
    assert api.call("PUT", "/v1/sla/policy", admin, policy).status_code == 200
    return api, cfg, urls, container


def alert_types(cfg, queue, expect):
    return sorted(
        (body["event_type"], body["data"]["target"])
        for body, _ in drain(cfg["AMQP_URI"], queue, expect=expect, timeout=10)
    )


def test_the_timer_emits_a_warning_at_75_percent_of_each_target(ticketing_factory, clock):
    api, cfg, _, _ = started(ticketing_factory, clock)
    queue = bind_queue(cfg["AMQP_URI"], "ticketing", "sla_warning")
    api.open(api.user("requester"))
    clock.advance(50)  # past 45 s (75 % of a minute), and the clock stays short of the minute
    assert alert_types(cfg, queue, expect=2) == [
        ("ticketing.sla_warning", "first_response"),
        ("ticketing.sla_warning", "resolution"),
    ]


def test_the_timer_emits_a_breach_once_a_target_has_passed(ticketing_factory, clock):
    api, cfg, _, _ = started(ticketing_factory, clock)
    queue = bind_queue(cfg["AMQP_URI"], "ticketing", "sla_breached")
    ticket = api.open(api.user("requester"))
    clock.advance(3600)
    assert alert_types(cfg, queue, expect=2) == [
        ("ticketing.sla_breached", "first_response"),
        ("ticketing.sla_breached", "resolution"),
    ]
    sla = api.call("GET", f"/v1/tickets/{ticket['id']}", api.user("agent")).json()["sla"]
    assert sla["resolution"]["breached"] and sla["resolution"]["remaining_seconds"] == -3540


def test_running_the_timer_again_records_nothing_twice(ticketing_factory, clock):
    api, cfg, urls, container = started(ticketing_factory, clock, SLA_TIMER_INTERVAL=3600)
    ticket = api.open(api.user("requester"))
    clock.advance(3600)
    for _ in range(3):
        with entrypoint_hook(container, "check_sla") as check_sla:
            check_sla(api.tenant_id, ticket["id"])
    history = api.call("GET", f"/v1/tickets/{ticket['id']}/history", api.user("agent")).json()
    assert [i["type"] for i in history["items"]].count("ticketing.sla_breached") == 2


def test_a_restarted_service_raises_the_alerts_that_fell_due_while_it_was_down(
    ticketing_factory, container_factory, clock
):
    api, cfg, _, container = started(ticketing_factory, clock, SLA_TIMER_INTERVAL=3600)
    queue = bind_queue(cfg["AMQP_URI"], "ticketing", "sla_breached")
    api.open(api.user("requester"))
    container.stop()
    clock.advance(3600)
    container_factory(TicketingService, {**cfg, "SLA_TIMER_INTERVAL": 0.2}).start()
    assert len(alert_types(cfg, queue, expect=2)) == 2


def test_a_target_counts_business_hours_of_the_tenants_calendar(ticketing_factory, clock):
    weekdays = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    clock.at = datetime(2025, 3, 14, 15, 59, 30, tzinfo=UTC)  # Friday 16:59:30 in Paris (UTC+1)
    api, _, _, _ = started(
        ticketing_factory,
        clock,
        SLA_TIMER_INTERVAL=3600,
        policy={"timezone": "Europe/Paris", "hours": weekdays, "targets": ONE_MINUTE},
    )
    ticket = api.open(api.user("requester"))
    sla = api.call("GET", f"/v1/tickets/{ticket['id']}", api.user("agent")).json()["sla"]
    # thirty seconds on Friday, thirty more from Monday 09:00 Paris
    assert sla["resolution"]["due_at"].startswith("2025-03-17T08:00:30")


def test_the_resolution_clock_pauses_while_pending(ticketing_factory, clock):
    api, _, _, _ = started(ticketing_factory, clock, SLA_TIMER_INTERVAL=3600)
    agent = api.user("agent")
    ticket = api.open(api.user("requester"))
    paused = api.call(
        "POST",
        f"/v1/tickets/{ticket['id']}/transitions",
        agent,
        {"to": "pending", "reason": "awaiting_requester"},
    ).json()["sla"]
    assert paused["resolution"]["paused"] and paused["resolution"]["due_at"] is None
    assert not paused["first_response"]["paused"]
    assert paused["first_response"]["met_at"] is not None


def test_only_admins_change_the_sla_policy_and_everyone_on_staff_reads_it(ticketing):
    api = ticketing[0]
    refused = api.call("PUT", "/v1/sla/policy", api.user("agent"), TINY_POLICY)
    default = api.call("GET", "/v1/sla/policy", api.user("agent")).json()
    assert refused.status_code == 403
    assert default["default"] and default["targets"]["critical"]["first_response_minutes"] == 15
