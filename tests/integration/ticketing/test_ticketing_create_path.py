"""The create path's guarantees: its answer is what a GET returns right after, a new ticket's
stream is never appended to twice, and the SLA policy each process keeps follows every change
(made by any process) without crossing tenants."""

import uuid

import pytest

from bench.common import free_port
from services.ticketing.application import PolicyCache, TicketDesk
from services.ticketing.dependencies import OffsetClock
from services.ticketing.domain import Actor, OpenTicket
from services.ticketing.service import TicketingService
from services.ticketing.settings import INJECTED_CLOCK_KEY
from shared.crypto import FieldCipher, LocalKeyring
from shared.db import UnitOfWork
from shared.eventstore import ConcurrencyError
from tests.integration.ticketing.conftest import TicketingApi
from tests.integration.ticketing.test_ticketing_sla_timer import TINY_POLICY, HandClock

BODIES = [
    {"type": "incident", "title": "VPN drops", "description": "Every hour."},
    {
        "type": "service_request",
        "title": "New monitor",
        "urgency": "high",
        "impact": "low",
        "category": "hardware",
    },
]


@pytest.fixture
def held(ticketing_factory):
    clock = HandClock()
    api, cfg, urls, container = ticketing_factory(**{INJECTED_CLOCK_KEY: clock})
    return api, clock, cfg, urls


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("roles", [("requester",), ("agent",)])
def test_the_create_answer_is_the_get_right_after(held, body, roles):
    api, _, _, _ = held
    who = api.user(*roles)
    staff = {"tags": ["Desk", "monitor"], "critical": True}
    extra = staff if "agent" in roles else {}
    created = api.call("POST", "/v1/tickets", who, {**body, **extra})
    assert created.status_code == 201, created.text
    fetched = api.call("GET", created.headers["Location"], who)
    assert created.json() == fetched.json()
    assert created.headers["ETag"] == fetched.headers["ETag"] == '"1"'


def test_the_create_answer_follows_the_tenants_policy_as_a_get_does(held):
    api, _, _, _ = held
    admin = api.user("admin")
    assert api.call("PUT", "/v1/sla/policy", admin, TINY_POLICY).status_code == 200
    who = api.user("requester")
    created = api.call("POST", "/v1/tickets", who, BODIES[0])
    fetched = api.call("GET", created.headers["Location"], who)
    assert created.json() == fetched.json()
    assert created.json()["sla"]["resolution"]["target_minutes"] == 1


def test_an_idempotent_replay_answers_the_body_of_the_first_create(held):
    api, _, _, _ = held
    who, key = api.user(), {"Idempotency-Key": str(uuid.uuid4())}
    first = api.call("POST", "/v1/tickets", who, BODIES[1], **key)
    again = api.call("POST", "/v1/tickets", who, BODIES[1], **key)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (first.status_code, first.json()) == (again.status_code, again.json())


def test_a_policy_set_through_another_process_reaches_the_next_create(
    ticketing_factory, container_factory
):
    """Two processes on one database: one caches the default policy with its first create; the
    other changes the policy; the first's next ticket follows the new one."""
    api, cfg, _, _ = ticketing_factory(**{INJECTED_CLOCK_KEY: HandClock()})
    other_cfg = {**cfg, "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"}
    container_factory(TicketingService, other_cfg).start()
    other = TicketingApi(
        f"http://{other_cfg['WEB_SERVER_ADDRESS']}", api.issuer, tenant_id=api.tenant_id
    )
    who = api.user("requester")
    before = api.call("POST", "/v1/tickets", who, BODIES[0]).json()
    assert before["sla"]["resolution"]["target_minutes"] != 1
    admin = api.user("admin")
    assert other.call("PUT", "/v1/sla/policy", admin, TINY_POLICY).status_code == 200
    after = api.call("POST", "/v1/tickets", who, BODIES[0])
    assert after.json()["sla"]["resolution"]["target_minutes"] == 1
    assert after.json() == api.call("GET", after.headers["Location"], who).json()
    # another tenant of the same process keeps the default
    stranger = api.other_tenant()
    theirs = stranger.call("POST", "/v1/tickets", stranger.user(), BODIES[0]).json()
    assert theirs["sla"]["resolution"] == before["sla"]["resolution"]


def test_a_new_tickets_stream_that_exists_is_a_conflict_not_a_second_opening(make_database):
    from psycopg_pool import ConnectionPool

    urls = make_database("ticketing")
    tenant, ticket_id = str(uuid.uuid4()), str(uuid.uuid4())
    actor = Actor(str(uuid.uuid4()), frozenset({"requester"}))
    cipher, policies = FieldCipher(LocalKeyring()), PolicyCache()

    def opening():
        return [
            OpenTicket(
                actor=actor,
                ticket_id=ticket_id,
                type="incident",
                title="VPN",
            )
        ]

    with ConnectionPool(urls["app"], min_size=1, max_size=2, kwargs={"autocommit": False}) as pool:
        pool.wait()
        for attempt in range(2):
            unit = UnitOfWork(pool, "ticketing")
            desk = TicketDesk(unit, cipher, OffsetClock(), tenant, policies)
            try:
                if attempt == 0:
                    desk.run(ticket_id, actor, opening(), new=True)
                else:
                    with pytest.raises(ConcurrencyError):
                        desk.run(ticket_id, actor, opening(), new=True)
            finally:
                unit.finish(commit=attempt == 0)
        unit = UnitOfWork(pool, "ticketing")
        unit.begin(tenant)
        assert [e.stream_version for e in unit.load(f"ticket-{ticket_id}")] == [1]
        unit.finish(commit=False)
