"""Change approvals through the API: the policy per ticket type, a change's planned window and
risk, decisions stage by stage, the move to in_progress that waits for them, the history that
proves who signed off, and another tenant that sees none of it."""

import uuid

import psycopg
import requests

from services.audit.service import AuditService
from shared.envelope import Envelope, system_actor
from tests.support.amqp import publish, service_rpc
from tests.support.waiting import wait_until

POLICY = {
    "change": {
        "stages": [
            {"name": "cab", "approver_role": "agent", "approvals_required": 2},
            {"name": "owner", "approver_role": "admin"},
        ]
    }
}
WINDOW = {
    "planned_start": "2026-12-12T22:00:00+00:00",
    "planned_end": "2026-12-13T01:00:00+00:00",
    "risk": "high",
}


def set_policy(api, admin, policy=POLICY):
    response = api.call("PUT", "/v1/approval-policies", admin, policy)
    assert response.status_code == 200, response.text
    return response


def open_change(api, who, **fields):
    return api.open(who, type="change", title="Upgrade the core switch", **{**WINDOW, **fields})


def decide(api, who, ticket, stage, decision="approve", comment=None):
    body = {"decision": decision, **({"comment": comment} if comment is not None else {})}
    return api.call("POST", f"/v1/tickets/{ticket['id']}/approvals/{stage}", who, body)


def start(api, who, ticket):
    return api.call("POST", f"/v1/tickets/{ticket['id']}/transitions", who, {"to": "in_progress"})


def test_a_change_approved_stage_by_stage_and_the_history_proves_who_signed_off(api, admin):
    set_policy(api, admin)
    author, first, second = api.user("agent"), api.user("agent"), api.user("agent")
    change = open_change(api, author)
    assert (change["change"]["risk"], change["change"]["planned_start"]) == (
        "high",
        "2026-12-12T22:00:00+00:00",
    )
    approval = change["change"]["approval"]
    assert (approval["state"], approval["current_stage"]) == ("awaiting", "cab")
    assert [(s["name"], s["approvals_required"]) for s in approval["stages"]] == [
        ("cab", 2),
        ("owner", 1),
    ]

    refused = start(api, author, change)
    assert refused.status_code == 409
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert (refused.json()["missing_approval"], refused.json()["approval_state"]) == (
        "cab",
        "awaiting",
    )
    assert "cab" in refused.json()["detail"]

    assert decide(api, author, change, "cab").status_code == 403  # their own change
    assert decide(api, first, change, "cab", comment="Rollback plan is sound.").status_code == 200
    assert decide(api, first, change, "cab").status_code == 409  # twice on one stage
    early = decide(api, admin, change, "owner")
    assert (early.status_code, early.json()["current_stage"]) == (409, "cab")
    assert decide(api, admin, change, "cab").status_code == 403  # not an agent
    passed = decide(api, second, change, "cab").json()["change"]["approval"]
    assert (passed["current_stage"], passed["stages"][0]["state"]) == ("owner", "approved")
    assert start(api, author, change).json()["missing_approval"] == "owner"

    approved = decide(api, admin, change, "owner", comment="Go.").json()
    assert approved["change"]["approval"]["state"] == "approved"
    assert approved["change"]["approval"]["current_stage"] is None
    assert start(api, author, change).json()["status"] == "in_progress"

    history = api.call("GET", f"/v1/tickets/{change['id']}/history", author).json()["items"]
    signed = [e for e in history if e["type"] == "ticketing.approval_recorded"]
    assert [(e["actor"]["user_id"], e["data"]["stage"], e["data"]["decision"]) for e in signed] == [
        (first["user_id"], "cab", "approve"),
        (second["user_id"], "cab", "approve"),
        (admin["user_id"], "owner", "approve"),
    ]
    assert signed[0]["fields"] == {"comment": "Rollback plan is sound."}
    assert signed[-1]["data"]["approved"] is True
    stages_set = next(e for e in history if e["type"] == "ticketing.approval_stages_set")
    assert stages_set["data"]["policy_version"] == 1


def test_the_comment_of_an_approval_is_sealed_and_a_rebuild_gives_the_same_read_models(
    ticketing, admin
):
    api, cfg, urls, _ = ticketing
    set_policy(api, admin, {"change": {"stages": [{"name": "cab", "approver_role": "agent"}]}})
    change = open_change(api, api.user("agent"))
    approver = api.user("agent")
    assert decide(api, approver, change, "cab", "reject", "Jane Roe objects.").status_code == 200
    with psycopg.connect(urls["admin"]) as conn:
        stored = " ".join(r[0] for r in conn.execute("SELECT envelope::text FROM events"))
        (row,) = conn.execute("SELECT change::text FROM tickets").fetchall()
    assert "ticketing.approval_recorded" in stored and "Jane Roe" not in stored
    assert "Jane Roe" not in row[0]  # the read model keeps no approver text either

    # the read models come back the same from the streams
    before = api.call("GET", f"/v1/tickets/{change['id']}", admin).json()
    with service_rpc("ticketing", cfg) as rpc:
        rpc.rebuild_read_model(api.tenant_id)
    assert api.call("GET", f"/v1/tickets/{change['id']}", admin).json() == before
    policies = api.call("GET", "/v1/approval-policies", admin)
    assert (list(policies.json()), policies.headers["ETag"]) == (["change"], '"1"')


def test_a_rejected_change_cannot_start_and_takes_no_more_decisions(api, admin):
    set_policy(api, admin)
    change = open_change(api, api.user("agent"))
    assert decide(api, api.user("agent"), change, "cab", "reject").status_code == 422  # why?
    rejected = decide(api, api.user("agent"), change, "cab", "reject", "No rollback plan.")
    assert rejected.json()["change"]["approval"]["state"] == "rejected"
    assert decide(api, api.user("agent"), change, "cab").status_code == 409
    refused = start(api, admin, change)
    assert (refused.status_code, refused.json()["approval_state"]) == (409, "rejected")
    cancelled = api.call(
        "POST", f"/v1/tickets/{change['id']}/transitions", admin, {"to": "cancelled"}
    )
    assert cancelled.json()["status"] == "cancelled"


def test_the_policy_is_for_admins_checked_and_versioned(api, admin, agent):
    assert api.call("GET", "/v1/approval-policies", agent).status_code == 403
    assert api.call("PUT", "/v1/approval-policies", agent, POLICY).status_code == 403
    empty = api.call("GET", "/v1/approval-policies", admin)
    assert (empty.json(), empty.headers["ETag"]) == ({}, '"0"')
    for bad in (
        {"change": {"stages": []}},
        {"change": {"stages": [{"name": "cab"}]}},
        {"change": {"stages": [{"name": "cab", "approver_role": "agent", "approver_ids": []}] * 2}},
        {"change": {"stages": [{"name": "cab", "approver_role": "requester"}]}},
        {"change": {"stages": [{"name": "cab", "approver_ids": [agent["user_id"]]}]}},  # no member
        {"rollout": {"stages": [{"name": "cab", "approver_role": "agent"}]}},
        {"change": {"stages": [{"name": "cab", "approver_group_id": str(uuid.uuid4())}]}},
    ):
        response = api.call("PUT", "/v1/approval-policies", admin, bad)
        assert response.status_code in (400, 422), (bad, response.text)
        assert response.headers["Content-Type"].startswith("application/problem+json")
    assert api.call("GET", "/v1/approval-policies", admin).headers["ETag"] == '"0"'
    assert set_policy(api, admin).headers["ETag"] == '"1"'
    stale = api.call("PUT", "/v1/approval-policies", admin, POLICY, **{"If-Match": '"0"'})
    assert stale.status_code == 412
    got = api.call("GET", "/v1/approval-policies", admin)
    assert got.json()["change"]["stages"][0] == {
        "name": "cab",
        "approvals_required": 2,
        "approver_role": "agent",
    }


def test_named_approvers_must_be_staff_members_and_alone_may_decide(ticketing, admin):
    api, cfg, urls, _ = ticketing
    named, customer = api.user("agent"), api.user("requester")
    publish(
        cfg["AMQP_URI"],
        [
            Envelope.new(
                "identity.user_joined",
                api.tenant_id,
                f"tenant-{api.tenant_id}",
                {"user_id": who["user_id"], "roles": list(who["roles"]), "provider": "google"},
                actor=system_actor("test"),
            )
            .with_version(version)
            .to_dict()
            for version, who in enumerate((named, customer), 1)
        ],
    )

    def known():
        with psycopg.connect(urls["admin"]) as conn:
            return conn.execute("SELECT count(*) FROM members").fetchone()[0] == 2

    wait_until(known, what="the members")
    for ids in ([customer["user_id"]], [named["user_id"], customer["user_id"]]):
        policy = {"change": {"stages": [{"name": "cab", "approver_ids": ids}]}}
        refused = api.call("PUT", "/v1/approval-policies", admin, policy)
        assert (refused.status_code, list(refused.json()["errors"])) == (422, ["approver_ids"])
    set_policy(
        api, admin, {"change": {"stages": [{"name": "cab", "approver_ids": [named["user_id"]]}]}}
    )
    change = open_change(api, api.user("agent"))
    assert decide(api, api.user("agent"), change, "cab").status_code == 403
    assert decide(api, named, change, "cab").json()["change"]["approval"]["state"] == "approved"


def test_the_window_is_checked_and_patched_and_the_stages_are_fixed_at_open(api, admin, agent):
    bad = api.call(
        "POST",
        "/v1/tickets",
        agent,
        {"type": "change", "title": "Swap", **WINDOW, "planned_end": WINDOW["planned_start"]},
    )
    assert (bad.status_code, list(bad.json()["errors"])) == (422, ["planned_end"])
    incident = api.call(
        "POST", "/v1/tickets", agent, {"type": "incident", "title": "Down", "risk": "low"}
    )
    assert incident.status_code == 422
    assert api.call("GET", "/v1/tickets", agent).json()["items"] == []  # nothing half-written

    set_policy(api, admin, {"change": {"stages": [{"name": "cab", "approver_role": "agent"}]}})
    change = open_change(api, agent)
    set_policy(api, admin)  # a later policy leaves the open change's stages as they were
    patched = api.call(
        "PATCH",
        f"/v1/tickets/{change['id']}",
        agent,
        {"risk": "critical", "planned_end": "2026-12-13T03:00:00+00:00"},
        **{"If-Match": f'"{change["version"]}"'},
    ).json()
    assert (patched["change"]["risk"], patched["change"]["planned_end"]) == (
        "critical",
        "2026-12-13T03:00:00+00:00",
    )
    assert [s["name"] for s in patched["change"]["approval"]["stages"]] == ["cab"]
    backwards = api.call(
        "PATCH",
        f"/v1/tickets/{change['id']}",
        agent,
        {"planned_end": "2026-12-12T21:00:00+00:00"},
        **{"If-Match": f'"{patched["version"]}"'},
    )
    assert backwards.status_code == 422

    # an incident retyped to change takes the policy then
    retyped = api.open(agent)
    after = api.call(
        "PATCH",
        f"/v1/tickets/{retyped['id']}",
        agent,
        {"type": "change"},
        **{"If-Match": '"1"'},
    ).json()
    assert [s["name"] for s in after["change"]["approval"]["stages"]] == ["cab", "owner"]


def test_decisions_need_a_ticket_awaiting_them_and_a_known_stage(api, admin, agent):
    set_policy(api, admin)
    incident = api.open(agent)
    assert decide(api, api.user("agent"), incident, "cab").status_code == 409
    change = open_change(api, agent)
    unknown = decide(api, api.user("agent"), change, "board")
    assert (unknown.status_code, unknown.headers["Content-Type"]) == (
        404,
        "application/problem+json",
    )
    assert decide(api, api.user("agent"), change, "cab", "maybe").status_code in (400, 422)


def test_another_tenant_sees_no_policy_and_cannot_decide(api, admin, agent):
    set_policy(api, admin)
    change = open_change(api, agent)
    other = api.other_tenant()
    their_admin, their_agent = other.user("admin"), other.user("agent")
    policies = other.call("GET", "/v1/approval-policies", their_admin)
    assert (policies.json(), policies.headers["ETag"]) == ({}, '"0"')
    assert decide(other, their_agent, change, "cab").status_code == 404
    assert other.call("GET", f"/v1/tickets/{change['id']}", their_agent).status_code == 404
    theirs = open_change(other, their_agent)
    assert theirs["change"]["approval"]["state"] == "not_required"
    assert start(other, their_agent, theirs).json()["status"] == "in_progress"
    assert (
        api.call("GET", "/v1/tickets/" + change["id"], agent).json()["change"]["approval"][
            "stages"
        ][0]["approvals"]
        == 0
    )


def test_the_audit_log_names_who_signed_off(
    ticketing, admin, service_config, container_factory, token_issuer
):
    api, cfg, _, _ = ticketing
    audit_cfg, _ = service_config("audit", AMQP_URI=cfg["AMQP_URI"], AUDIT_CHECKPOINT_INTERVAL=0)
    container_factory(AuditService, audit_cfg).start()
    set_policy(api, admin, {"change": {"stages": [{"name": "cab", "approver_role": "agent"}]}})
    change = open_change(api, api.user("agent"))
    approver = api.user("agent")
    assert decide(api, approver, change, "cab", comment="Fine by me.").status_code == 200
    officer = token_issuer.headers(tenant_id=api.tenant_id, roles=("compliance_officer",))

    def signed():
        response = requests.get(
            f"http://{audit_cfg['WEB_SERVER_ADDRESS']}/v1/audit/events",
            params={"event_type": "ticketing.approval_recorded"},
            headers=officer,
            timeout=10,
        )
        return response.json()["items"] if response.status_code == 200 else []

    (entry,) = wait_until(signed, timeout=30, what="the approval's audit entry")
    recorded = entry["envelope"]
    assert recorded["actor"]["user_id"] == approver["user_id"]
    assert recorded["stream_id"] == f"ticket-{change['id']}"
    assert (recorded["data"]["stage"], recorded["data"]["decision"]) == ("cab", "approve")
    assert "Fine by me." not in str(entry)  # the comment stays sealed in the log
