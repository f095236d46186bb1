"""A ticket waiting unassigned in a group's queue tells the group's members (from ticketing's
group membership events); an assigned one tells only its assignee."""

import datetime
import uuid

from tests.support.waiting import wait_until


def new_id():
    return str(uuid.uuid4())


def test_the_members_of_a_group_hear_of_its_unassigned_tickets_and_their_sla_alerts(
    start_notifications,
):
    rig = start_notifications()
    src, tenant, group = rig.sources, new_id(), new_id()
    requester = src.member(tenant, "rita@example.test")
    alex = src.member(tenant, "alex@example.test", roles=("agent",))
    bea = src.member(tenant, "bea@example.test", roles=("agent",))
    gone = src.member(tenant, "gus@example.test", roles=("agent",))
    rig.wait_members(4)
    stream, system = f"group-{group}", {"system": "ticketing"}
    for user_id in (alex, bea, gone):
        data = {"group_id": group, "user_id": user_id}
        src.emit("ticketing.group_member_added", tenant, stream, data, actor=system)
    left = {"group_id": group, "user_id": gone, "reason": "removed"}
    removed = src.emit("ticketing.group_member_removed", tenant, stream, left, actor=system)
    rig.wait_handled(removed)
    ticket = src.ticket(tenant, requester, "VPN drops")
    routed = {"assignee_id": None, "group_id": group, "reason": "routed"}
    src.emit("ticketing.ticket_assigned", tenant, f"ticket-{ticket}", routed, actor=system)
    for who in ("alex@example.test", "bea@example.test"):
        (mail,) = rig.mail.wait_for(who)
        assert mail["Subject"] == "Ticket “VPN drops” waits in your group's queue"
    due = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)).isoformat()
    alert = {"target": "first_response", "due_at": due, "target_minutes": 60}
    src.emit("ticketing.sla_warning", tenant, f"ticket-{ticket}", alert, actor=system)
    warned = rig.mail.wait_for("bea@example.test", count=2)[1]
    assert warned["Subject"] == "Ticket “VPN drops” is about to miss its first response target"
    (notice, _) = rig.notices(tenant, alex)["items"]
    assert (notice["kind"], notice["data"]) == (
        "group_sla",
        {"alert": "warning", "target": "first_response"},
    )
    # once assigned, only the assignee hears of it
    taken = {"assignee_id": alex, "group_id": group}
    src.emit("ticketing.ticket_assigned", tenant, f"ticket-{ticket}", taken, actor=system)
    rig.mail.wait_for("alex@example.test", count=3)
    wait_until(lambda: "queued" not in rig.mail_states().values(), 30, "the outbox to settle")
    assert len(rig.mail.messages("bea@example.test")) == 2
    # an SLA policy's notify_group escalation tells the group it names, assigned or not
    escalated = {
        "policy_id": "urgent",
        "target": "resolution",
        "level": "breach",
        "action": "notify_group",
        "round": 0,
        "reason": "resolution_breached",
        "target_minutes": 60,
        "due_at": due,
        "group_id": group,
    }
    src.emit("ticketing.sla_escalated", tenant, f"ticket-{ticket}", escalated, actor=system)
    told = rig.mail.wait_for("bea@example.test", count=3)[2]
    assert told["Subject"] == "Ticket “VPN drops” has missed its resolution target"
    rig.mail.wait_for("alex@example.test", count=4)
    assert rig.mail.messages("gus@example.test") == []
