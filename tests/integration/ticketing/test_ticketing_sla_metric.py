"""A breached SLA counts once per target in dzdesk_sla_breaches_total, on the clock the test
holds; running the timer again counts nothing twice, and warnings are no breaches."""

from nameko.testing.services import entrypoint_hook

from tests.integration.ticketing.test_ticketing_sla_timer import HandClock, started
from tests.support.scrape import sample


def breaches(api, sla):
    return sample(api.base, "dzdesk_sla_breaches_total", service="ticketing", sla=sla) or 0


def test_each_breached_target_counts_once(ticketing_factory):
    clock = HandClock()
    api, _, _, container = started(ticketing_factory, clock, SLA_TIMER_INTERVAL=3600)
    before = {sla: breaches(api, sla) for sla in ("first_response", "resolution")}
    ticket = api.open(api.user("requester"))

    def check():
        with entrypoint_hook(container, "check_sla") as check_sla:
            check_sla(api.tenant_id, ticket["id"])

    clock.advance(50)  # past the warnings (75 % of a minute), short of the breaches
    check()
    assert {sla: breaches(api, sla) for sla in before} == before
    clock.advance(3600)
    for _ in range(3):
        check()
    assert {sla: breaches(api, sla) for sla in before} == {
        sla: count + 1 for sla, count in before.items()
    }
