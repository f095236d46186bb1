"""Groups through the API: admins shape them, members are the tenant's agents, a ticket's group
exists and its assignee is in it, and a member who leaves has their assignments released."""

import uuid

import psycopg

from shared.envelope import Envelope, system_actor
from tests.support.amqp import publish
from tests.support.waiting import wait_until


def raw(urls, query, params=()):
    with psycopg.connect(urls["admin"]) as conn:
        return conn.execute(query, params).fetchall()


def member(ticketing, *roles):
    """A member of the api's tenant as identity's events leave the projection."""
    api, _, urls, _ = ticketing
    who = api.user(*roles)
    with psycopg.connect(urls["admin"]) as conn:
        conn.execute(
            "INSERT INTO members (tenant_id, user_id, roles, version) VALUES (%s, %s, %s, 1)",
            (api.tenant_id, who["user_id"], list(roles)),
        )
    return who


def new_group(api, admin, name="Network team", *members):
    created = api.call("POST", "/v1/groups", admin, {"name": name, "description": "LAN and VPN"})
    assert created.status_code == 201, created.text
    group = created.json()
    for who in members:
        added = api.call("PUT", f"/v1/groups/{group['id']}/members/{who['user_id']}", admin)
        assert added.status_code == 200, added.text
    return api.call("GET", f"/v1/groups/{group['id']}", admin).json()


def patch(api, who, ticket_id, body):
    version = api.call("GET", f"/v1/tickets/{ticket_id}", who).headers["ETag"]
    return api.call("PATCH", f"/v1/tickets/{ticket_id}", who, body, **{"If-Match": version})


def test_an_admin_creates_lists_reads_and_renames_groups(ticketing, admin, agent, requester):
    api = ticketing[0]
    created = api.call("POST", "/v1/groups", admin, {"name": "Network team"})
    assert created.status_code == 201, created.text
    group = created.json()
    assert created.headers["Location"] == f"/v1/groups/{group['id']}"
    assert (group["name"], group["members"], created.headers["ETag"]) == ("Network team", [], '"1"')
    second = new_group(api, admin, "Service desk")
    listed = api.call("GET", "/v1/groups?limit=1", agent).json()
    assert [g["id"] for g in listed["items"]] == [group["id"]]
    rest = api.call("GET", f"/v1/groups?limit=1&cursor={listed['next_cursor']}", agent).json()
    assert ([g["id"] for g in rest["items"]], rest["next_cursor"]) == ([second["id"]], None)
    path = f"/v1/groups/{group['id']}"
    stale = api.call("PATCH", path, admin, {"name": "Networks"}, **{"If-Match": '"5"'})
    renamed = api.call("PATCH", path, admin, {"name": "Networks"}, **{"If-Match": '"1"'})
    assert stale.status_code == 412
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Networks")
    taken = api.call("PATCH", path, admin, {"name": "service DESK"})
    assert taken.status_code == 409
    assert api.call("POST", "/v1/groups", admin, {"name": "networks"}).status_code == 409
    assert api.call("POST", "/v1/groups", admin, {"name": ""}).status_code in (400, 422)
    assert api.call("POST", "/v1/groups", agent, {"name": "Mine"}).status_code == 403
    assert api.call("GET", "/v1/groups", requester).status_code == 403
    assert api.call("GET", "/v1/groups/not-a-uuid", agent).status_code == 404


def test_members_are_agents_or_admins_of_the_tenant(ticketing, admin):
    api = ticketing[0]
    group = new_group(api, admin)
    path = f"/v1/groups/{group['id']}/members"
    colleague, plain = member(ticketing, "agent"), member(ticketing, "requester")
    added = api.call("PUT", f"{path}/{colleague['user_id']}", admin)
    assert (added.status_code, added.json()["members"]) == (200, [colleague["user_id"]])
    again = api.call("PUT", f"{path}/{colleague['user_id']}", admin)
    assert (again.status_code, again.headers["ETag"]) == (200, added.headers["ETag"])
    for who in (plain["user_id"], str(uuid.uuid4())):
        refused = api.call("PUT", f"{path}/{who}", admin)
        assert refused.status_code == 422 and "user_id" in refused.json()["errors"]
    assert api.call("PUT", f"{path}/{colleague['user_id']}", colleague).status_code == 403
    mine = api.call("GET", f"/v1/groups?member={colleague['user_id']}", colleague).json()
    assert [g["id"] for g in mine["items"]] == [group["id"]]
    removed = api.call("DELETE", f"{path}/{colleague['user_id']}", admin)
    assert (removed.status_code, removed.json()["members"]) == (200, [])


def test_a_tickets_group_must_exist_and_its_assignee_be_in_it(ticketing, admin, requester):
    api = ticketing[0]
    inside, outside = member(ticketing, "agent"), member(ticketing, "agent")
    group = new_group(api, admin, "Network team", inside)
    ticket = api.open(requester)
    unknown = patch(api, inside, ticket["id"], {"group_id": str(uuid.uuid4())})
    assert unknown.status_code == 422 and "group_id" in unknown.json()["errors"]
    stranger = patch(api, inside, ticket["id"], {"group_id": group["id"], **_to(outside)})
    assert stranger.status_code == 422 and "assignee_id" in stranger.json()["errors"]
    done = patch(api, inside, ticket["id"], {"group_id": group["id"], **_to(inside)})
    assert done.status_code == 200, done.text
    assert (done.json()["group_id"], done.json()["assignee_id"]) == (group["id"], inside["user_id"])
    # the ticket has a group now: a new assignee must be in it too
    later = patch(api, inside, ticket["id"], _to(outside))
    assert later.status_code == 422 and "assignee_id" in later.json()["errors"]


def _to(who):
    return {"assignee_id": who["user_id"]}


def test_another_tenant_sees_none_of_the_groups(ticketing, admin, agent):
    api = ticketing[0]
    group = new_group(api, admin)
    other = api.other_tenant()
    theirs = other.user("admin")
    path = f"/v1/groups/{group['id']}"
    assert other.call("GET", path, theirs).status_code == 404
    assert other.call("PATCH", path, theirs, {"name": "Mine"}).status_code == 404
    assert other.call("PUT", f"{path}/members/{theirs['user_id']}", theirs).status_code == 404
    assert other.call("GET", f"{path}/queue", theirs).status_code == 404
    assert other.call("GET", "/v1/groups", theirs).json()["items"] == []
    ticket = other.open(theirs)
    refused = other.call(
        "PATCH",
        f"/v1/tickets/{ticket['id']}",
        theirs,
        {"group_id": group["id"]},
        **{"If-Match": '"1"'},
    )
    assert refused.status_code == 422 and "group_id" in refused.json()["errors"]
    assert api.call("GET", path, agent).json()["name"] == "Network team"


def test_a_member_removed_from_the_group_is_released_to_its_queue(ticketing, admin, requester):
    api = ticketing[0]
    leaving = member(ticketing, "agent")
    group = new_group(api, admin, "Network team", leaving)
    ticket = api.open(requester)
    patch(api, leaving, ticket["id"], {"group_id": group["id"], **_to(leaving)})
    queue = f"/v1/groups/{group['id']}/queue"
    assert api.call("GET", queue + "?assigned=false", admin).json()["items"] == []
    api.call("DELETE", f"/v1/groups/{group['id']}/members/{leaving['user_id']}", admin)
    shown = api.call("GET", f"/v1/tickets/{ticket['id']}", admin).json()
    assert (shown["group_id"], shown["assignee_id"]) == (group["id"], None)
    unassigned = api.call("GET", queue + "?assigned=false", admin).json()["items"]
    assert [item["id"] for item in unassigned] == [ticket["id"]]
    last = api.call("GET", f"/v1/tickets/{ticket['id']}/history", admin).json()["items"][-1]
    assert (last["type"], last["data"]["reason"], last["actor"]) == (
        "ticketing.ticket_assigned",
        "left_group",
        {"system": "ticketing"},
    )


def test_a_member_who_leaves_the_tenant_or_is_erased_is_released(ticketing, admin, requester):
    api, cfg, urls, _ = ticketing
    leaving, erased = member(ticketing, "agent"), member(ticketing, "agent")
    group = new_group(api, admin, "Network team", leaving, erased)
    first, second = api.open(requester), api.open(requester)
    patch(api, leaving, first["id"], {"group_id": group["id"], **_to(leaving)})
    patch(api, erased, second["id"], {"group_id": group["id"], **_to(erased)})
    demoted = Envelope.new(
        "identity.member_roles_changed",
        api.tenant_id,
        f"tenant-{api.tenant_id}",
        {"user_id": leaving["user_id"], "roles": ["requester"]},
        actor=system_actor("test"),
    ).with_version(2)
    publish(cfg["AMQP_URI"], [demoted.to_dict()])
    wait_until(
        lambda: api.call("GET", f"/v1/tickets/{first['id']}", admin).json()["assignee_id"] is None,
        what="the release of the demoted agent",
    )
    assert api.call("GET", f"/v1/groups/{group['id']}", admin).json()["members"] == [
        erased["user_id"]
    ]
    # identity's erasure (privacy's purge of the subject releases them the same way:
    # subjects.purge -> Groups.member_left)
    gone = Envelope.new(
        "identity.member_erased",
        api.tenant_id,
        f"tenant-{api.tenant_id}",
        {"user_id": erased["user_id"], "request_id": str(uuid.uuid4())},
        actor=system_actor("test"),
    ).with_version(3)
    publish(cfg["AMQP_URI"], [gone.to_dict()])
    wait_until(
        lambda: api.call("GET", f"/v1/tickets/{second['id']}", admin).json()["assignee_id"] is None,
        what="the release of the erased agent",
    )
    shown = api.call("GET", f"/v1/tickets/{second['id']}", admin).json()
    assert (shown["group_id"], shown["assignee_id"]) == (group["id"], None)
    assert api.call("GET", f"/v1/groups/{group['id']}", admin).json()["members"] == []
    reasons = raw(
        urls,
        "SELECT envelope->'data'->>'reason' FROM events"
        " WHERE event_type IN ('ticketing.ticket_assigned', 'ticketing.group_member_removed')"
        " AND envelope->'data' ? 'reason' AND tenant_id = %s ORDER BY position",
        (api.tenant_id,),
    )
    assert [r for (r,) in reasons] == ["left_tenant", "left_tenant", "erased", "erased"]


def test_a_group_approves_a_change_when_its_policy_names_the_group(ticketing, admin):
    api = ticketing[0]
    cab, outsider = member(ticketing, "agent"), member(ticketing, "agent")
    group = new_group(api, admin, "Change advisory board", cab)
    policy = {"change": {"stages": [{"name": "cab", "approver_group_id": group["id"]}]}}
    assert api.call("PUT", "/v1/approval-policies", admin, policy).status_code == 200
    change = api.open(
        outsider,
        type="change",
        title="Upgrade the core switch",
        planned_start="2026-12-12T22:00:00+00:00",
        planned_end="2026-12-13T01:00:00+00:00",
        risk="high",
    )
    path = f"/v1/tickets/{change['id']}/approvals/cab"
    assert api.call("POST", path, outsider, {"decision": "approve"}).status_code == 403
    approved = api.call("POST", path, cab, {"decision": "approve"})
    assert approved.status_code in (200, 201), approved.text
    moved = api.call("POST", f"/v1/tickets/{change['id']}/transitions", cab, {"to": "in_progress"})
    assert moved.status_code == 200, moved.text
