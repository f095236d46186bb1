"""Custom ticket fields through the API: definitions (admins write, the tenant reads, other
tenants see nothing), values checked on create and PATCH, text and personal values sealed in
the events and erased with the requester; external ids unique per tenant, race-safe."""

import uuid

import eventlet
import psycopg
import pytest
from psycopg_pool import ConnectionPool

from services.ticketing import exceptions
from services.ticketing.application import PolicyCache, TicketDesk
from services.ticketing.dependencies import OffsetClock
from services.ticketing.domain import Actor, OpenTicket
from shared.crypto import FieldCipher, LocalKeyring
from shared.db import UnitOfWork
from tests.integration.ticketing.test_ticketing_people_and_titles import join
from tests.support.amqp import service_rpc
from tests.support.waiting import wait_until

SECRET = "Jane Roe, desk 4.12, badge 078-05"
FIELDS = [
    {"key": "asset", "type": "number", "required_for": ["incident"]},
    {"key": "due", "type": "date"},
    {"key": "risk", "type": "enum", "options": ["low", "high"]},
    {"key": "owner", "type": "user"},
    {"key": "vip", "type": "bool"},
    {"key": "location", "type": "text"},
    {"key": "badge", "type": "enum", "options": ["b078", "b079"], "personal": True},
]


def raw(urls, query, params=None):
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(query, params).fetchall()


def define(api, admin, specs=FIELDS):
    for spec in specs:
        response = api.call("POST", "/v1/ticket-fields", admin, spec)
        assert response.status_code == 201, response.text


def test_admins_define_fields_the_tenant_reads_them_other_tenants_see_none(
    ticketing, admin, agent, requester
):
    api = ticketing[0]
    assert api.call("POST", "/v1/ticket-fields", agent, FIELDS[0]).status_code == 403
    define(api, admin)
    again = api.call("POST", "/v1/ticket-fields", admin, {"key": "asset", "type": "text"})
    assert again.status_code == 409
    assert again.headers["Content-Type"] == "application/problem+json"
    listed = api.call("GET", "/v1/ticket-fields", requester).json()["items"]
    assert [f["key"] for f in listed] == sorted(f["key"] for f in FIELDS)
    by_key = {f["key"]: f for f in listed}
    assert by_key["location"]["sealed"] and by_key["badge"]["sealed"]
    assert not by_key["risk"]["sealed"] and by_key["asset"]["required_for"] == ["incident"]
    bad = api.call("POST", "/v1/ticket-fields", admin, {"key": "risk2", "type": "enum"})
    assert bad.status_code == 422 and "options" in bad.json()["errors"]

    changed = api.call(
        "PATCH", "/v1/ticket-fields/risk", admin, {"options": ["low", "mid", "high"]}
    )
    assert changed.status_code == 200 and changed.json()["options"] == ["low", "mid", "high"]
    assert api.call("PATCH", "/v1/ticket-fields/risk", agent, {"options": ["x"]}).status_code == 403
    assert api.call("DELETE", "/v1/ticket-fields/vip", admin).status_code == 204
    assert api.call("DELETE", "/v1/ticket-fields/vip", admin).status_code == 404
    keys = [f["key"] for f in api.call("GET", "/v1/ticket-fields", agent).json()["items"]]
    assert "vip" not in keys and "risk" in keys

    other = api.other_tenant()
    stranger_admin = other.user("admin")
    assert other.call("GET", "/v1/ticket-fields", stranger_admin).json()["items"] == []
    assert other.call("DELETE", "/v1/ticket-fields/risk", stranger_admin).status_code == 404
    # another tenant's tickets know nothing of these fields
    refused = other.call(
        "POST",
        "/v1/tickets",
        other.user(),
        {"type": "incident", "title": "x", "fields": {"asset": 1}},
    )
    assert refused.status_code == 422


def test_values_are_checked_on_create_and_patch_and_shown_on_the_detail(ticketing, admin, agent):
    api = ticketing[0]
    define(api, admin)
    base = {"type": "incident", "title": "Printer jams"}
    for fields, key in (
        ({"asset": 1, "colour": "red"}, "fields.colour"),
        ({"asset": "one"}, "fields.asset"),
        ({}, "fields.asset"),
        ({"asset": 1, "risk": "medium"}, "fields.risk"),
        ({"asset": 1, "due": "tomorrow"}, "fields.due"),
        ({"asset": 1, "owner": str(uuid.uuid4())}, "fields.owner"),
    ):
        response = api.call("POST", "/v1/tickets", agent, {**base, "fields": fields})
        assert response.status_code == 422, (fields, response.text)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert key in response.json()["errors"]
    assert raw(ticketing[2], "SELECT count(*) FROM tickets") == [(0,)]

    member = join(ticketing, "agent")
    created = api.call(
        "POST",
        "/v1/tickets",
        agent,
        {**base, "fields": {"asset": 42, "owner": member["user_id"], "risk": "low"}},
    )
    assert created.status_code == 201, created.text
    assert created.json()["fields"] == {"asset": 42, "owner": member["user_id"], "risk": "low"}
    path = created.headers["Location"]
    # a service request does not need the asset
    assert api.call("POST", "/v1/tickets", agent, {**base, "type": "service_request"}).ok

    etag = created.headers["ETag"]
    patched = api.call(
        "PATCH",
        path,
        agent,
        {"fields": {"risk": "high", "due": "2026-12-24", "owner": None}},
        **{"If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["fields"] == {"asset": 42, "risk": "high", "due": "2026-12-24"}
    bad = api.call(
        "PATCH", path, agent, {"fields": {"asset": None}}, **{"If-Match": patched.headers["ETag"]}
    )
    assert bad.status_code == 422 and "fields.asset" in bad.json()["errors"]
    assert api.call("GET", path, agent).json()["fields"] == patched.json()["fields"]
    window = {"key": "window", "type": "date", "required_for": ["change"]}
    assert api.call("POST", "/v1/ticket-fields", admin, window).status_code == 201
    version = {"If-Match": patched.headers["ETag"]}
    retyped = api.call("PATCH", path, agent, {"type": "change"}, **version)
    assert retyped.status_code == 422 and "fields.window" in retyped.json()["errors"]
    body = {"type": "change", "fields": {"window": "2026-12-31"}}
    retyped = api.call("PATCH", path, agent, body, **version)
    assert retyped.status_code == 200, retyped.text
    assert (retyped.json()["type"], retyped.json()["fields"]["window"]) == ("change", "2026-12-31")
    # another tenant cannot read the ticket at all
    other = api.other_tenant()
    assert other.call("GET", path, other.user("agent")).status_code == 404


def test_text_and_personal_values_are_sealed_exported_and_erased_with_the_requester(
    ticketing, admin, agent, requester
):
    api, cfg, urls, _ = ticketing
    define(api, admin)
    ticket = api.open(requester, fields={"asset": 7, "location": SECRET, "badge": "b078"})
    assert ticket["fields"] == {"asset": 7, "location": SECRET, "badge": "b078"}
    # enough writes for a snapshot: it holds the sealed values sealed too
    path, etag = f"/v1/tickets/{ticket['id']}", None
    for n in range(9):
        response = api.call("PATCH", path, agent, {"tags": [f"t{n}"]}, **{"If-Match": f'"{n + 2}"'})
        assert response.status_code == 200, response.text
        etag = response.headers["ETag"]
    stored = " ".join(
        row[0]
        for row in raw(urls, "SELECT envelope::text FROM events WHERE stream_id LIKE 'ticket-%'")
        + raw(urls, "SELECT state::text FROM snapshots")
    )
    assert raw(urls, "SELECT count(*) FROM snapshots") == [(1,)]
    assert "Jane Roe" not in stored and "b078" not in stored and "desk 4.12" not in stored
    again = api.call("PATCH", path, agent, {"fields": {"risk": "low"}}, **{"If-Match": etag}).json()
    assert again["fields"] == {"asset": 7, "location": SECRET, "badge": "b078", "risk": "low"}

    history = api.call("GET", path + "/history", agent).json()["items"]
    assert history[1]["type"] == "ticketing.fields_changed"
    assert history[1]["fields"] == {"fields": {"location": SECRET, "badge": "b078"}}
    with service_rpc("ticketing", cfg) as rpc:
        bundle = rpc.export_subject(api.tenant_id, requester["user_id"])
    assert bundle["tickets_requested"][0]["fields"] == {"location": SECRET, "badge": "b078"}

    with service_rpc("privacy", cfg) as privacy, service_rpc("ticketing", cfg) as rpc:
        privacy.shred_subject_key(api.tenant_id, requester["user_id"], {"system": "test"})
        receipt = rpc.purge_subject(api.tenant_id, requester["user_id"], str(uuid.uuid4()))
    assert receipt["purged"]["tickets_reprojected"] == 1
    shown = api.call("GET", path, agent).json()["fields"]
    assert shown == {"asset": 7, "location": "[erased]", "badge": "[erased]", "risk": "low"}
    history = api.call("GET", path + "/history", agent).json()["items"]
    assert history[1]["fields"] == {"fields": {"location": "[erased]", "badge": "[erased]"}}
    assert history[1]["erased"] == ["fields"]
    rows = " ".join(str(row) for row in raw(urls, "SELECT t::text FROM tickets t"))
    assert "Jane Roe" not in rows and "b078" not in rows and "desk 4.12" not in rows
    # a rebuild from the events gives the same (sealed under a shredded key: erased)
    with service_rpc("ticketing", cfg) as rpc:
        rpc.rebuild_read_model(api.tenant_id)
    assert api.call("GET", path, agent).json()["fields"] == shown
    assert len(api.call("GET", "/v1/ticket-fields", agent).json()["items"]) == len(FIELDS)


def test_an_external_id_is_unique_per_tenant_and_filters_the_list(ticketing, agent):
    api = ticketing[0]
    first = api.open(agent, external_id="ALERT-4711")
    assert first["external_id"] == "ALERT-4711"
    second = api.call(
        "POST",
        "/v1/tickets",
        agent,
        {"type": "incident", "title": "x", "external_id": "ALERT-4711"},
    )
    assert second.status_code == 409
    assert second.headers["Content-Type"] == "application/problem+json"
    assert "external_id" in second.json()["errors"] and second.json()["ticket_id"] == first["id"]
    api.open(agent, external_id="ALERT-4712")
    api.open(agent)
    found = api.call("GET", "/v1/tickets?external_id=ALERT-4711", agent).json()["items"]
    assert [t["id"] for t in found] == [first["id"]]
    bad = api.call(
        "POST", "/v1/tickets", agent, {"type": "incident", "title": "x", "external_id": "a b"}
    )
    assert bad.status_code == 422
    other = api.other_tenant()
    assert (
        other.call("GET", "/v1/tickets?external_id=ALERT-4711", other.user("agent")).json()["items"]
        == []
    )
    assert other.open(other.user("agent"), external_id="ALERT-4711")["external_id"] == "ALERT-4711"


def test_two_creates_racing_for_one_external_id_one_loses_at_the_index(make_database):
    urls = make_database("ticketing")
    tenant = str(uuid.uuid4())
    actor = Actor(str(uuid.uuid4()), frozenset({"agent"}))
    cipher, policies = FieldCipher(LocalKeyring()), PolicyCache()

    def opening(ticket_id):
        return [
            OpenTicket(
                actor=actor, ticket_id=ticket_id, type="incident", title="x", external_id="E-1"
            )
        ]

    with ConnectionPool(urls["app"], min_size=2, max_size=2, kwargs={"autocommit": False}) as pool:
        pool.wait()
        first, second = UnitOfWork(pool, "ticketing"), UnitOfWork(pool, "ticketing")
        a = TicketDesk(first, cipher, OffsetClock(), tenant, policies)
        b = TicketDesk(second, cipher, OffsetClock(), tenant, policies)
        one, two = str(uuid.uuid4()), str(uuid.uuid4())
        a.run(one, actor, opening(one), new=True)  # not committed: b's look-up sees nothing
        racing = eventlet.spawn(b.run, two, actor, opening(two), new=True)
        wait_until(
            lambda: (
                raw(
                    urls,
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()",
                )
                == [(1,)]
            ),
            what="the second create waiting on the index",
        )
        first.finish(commit=True)
        with pytest.raises(exceptions.ExternalIdTaken):
            racing.wait()
        second.finish(commit=False)
    assert raw(urls, "SELECT ticket_id::text FROM tickets") == [(one,)]


def test_a_decision_on_definitions_changed_since_they_were_cached_is_made_again(make_database):
    """The process caches each tenant's definitions; a write decided on an older version of
    them (another process defined a field since) fails its append's check and, decided
    again on the stored ones, meets the new rule."""
    from services.ticketing.application import FIELD_CACHE
    from shared.eventstore import ConcurrencyError

    urls = make_database("ticketing")
    tenant = str(uuid.uuid4())
    admin = Actor(str(uuid.uuid4()), frozenset({"admin"}))
    cipher, policies = FieldCipher(LocalKeyring()), PolicyCache()

    def create(desk):
        ticket_id = str(uuid.uuid4())
        opening = OpenTicket(actor=admin, ticket_id=ticket_id, type="incident", title="x")
        return desk.run(ticket_id, admin, [opening], new=True)

    with ConnectionPool(urls["app"], min_size=1, max_size=1, kwargs={"autocommit": False}) as pool:
        pool.wait()

        def unit_of_work(work, commit=False):
            unit = UnitOfWork(pool, "ticketing")
            try:
                return work(TicketDesk(unit, cipher, OffsetClock(), tenant, policies))
            finally:
                unit.finish(commit=commit)

        unit_of_work(
            lambda desk: desk.define_field(
                admin, {"key": "asset", "type": "number", "required_for": ["incident"]}
            ),
            commit=True,
        )
        FIELD_CACHE.put(tenant, 0, {})  # what a process read before the field was defined
        with pytest.raises(ConcurrencyError):
            unit_of_work(create)
        with pytest.raises(exceptions.RuleViolated) as refused:
            unit_of_work(create)
        assert "fields.asset" in refused.value.extra["errors"]
    assert raw(urls, "SELECT count(*) FROM tickets") == [(0,)]


def test_an_sla_policy_matching_a_custom_field_applies_to_tickets_carrying_it(ticketing):
    api = ticketing[0]
    admin, agent = api.user("admin"), api.user("agent")
    define(api, admin, [{"key": "tier", "type": "enum", "options": ["gold", "silver"]}])
    always = {day: [["00:00", "00:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    vip = {
        "id": "vip",
        "match": {"fields": {"tier": "gold"}},
        "timezone": "UTC",
        "hours": always,
        "targets": {
            p: {"first_response_minutes": 15, "resolution_minutes": 120}
            for p in ("low", "medium", "high", "critical")
        },
    }
    assert api.call("PUT", "/v1/sla/policies", admin, {"policies": [vip]}).status_code == 200
    gold = api.open(agent, fields={"tier": "gold"})
    plain = api.open(agent)
    assert (gold["sla"]["policy_id"], plain["sla"]["policy_id"]) == ("vip", "default")
    path = f"/v1/tickets/{gold['id']}"
    moved = api.call("PATCH", path, agent, {"fields": {"tier": "silver"}}, **{"If-Match": '"2"'})
    assert moved.status_code == 200, moved.text
    assert moved.json()["sla"]["policy_id"] == "default"
