"""Who gets what: the notices an event makes, each person's preferences, the in-platform
list.

- the requester on status changes and public comments; watchers on public comments;
- the assignee on assignment and on SLA warnings and breaches; when a ticket of a group has no
  assignee (routed or released to the group's queue), the group's members instead;
- the members of the group an SLA policy's `notify_group` escalation names;
- the tenant's admins when integrations disables a webhook whose deliveries kept failing;
- every member of every tenant on a new privacy policy version (not optional).
Nobody is told of their own action, and an internal comment tells nobody. Group membership
comes from ticketing's `group_member_added` / `group_member_removed` events.
"""

import hashlib
import uuid

from services.notifications import projections, store
from services.notifications.events import KINDS
from services.notifications.exceptions import NoticeNotFound, NotOptional

POLICY = "privacy_policy"
MANDATORY = frozenset({POLICY})
DEFAULT = {"email": True, "platform": True}


def notice_id(event_id, user_id):
    """The one notice of an event for a person: a redelivered event adds nothing (the SQL of
    store.announce_to_members derives it the same way)."""
    return str(uuid.UUID(hashlib.md5(f"{event_id}/{user_id}".encode()).hexdigest()))


def _actor(event):
    return (event.actor or {}).get("user_id")


def recipients(event, ticket, conn):
    """(kind, [user ids], data) of a ticketing event, before preferences."""
    if ticket is None:
        return None, [], {}
    data = event.data or {}
    requester = [ticket["requester_id"]] if ticket["requester_id"] else []
    assignee = [ticket["assignee_id"]] if ticket["assignee_id"] else []
    if event.name == "status_changed":
        return "ticket_status", requester, {"status": data.get("to_status")}
    if event.name == "comment_added":
        if data.get("internal"):
            return None, [], {}
        return "ticket_comment", requester + list(ticket["watchers"]), {}
    if event.name == "ticket_assigned":
        if not data.get("assignee_id") and data.get("group_id"):
            return "group_queue", store.group_members(conn, data["group_id"]), {}
        assigned = [data["assignee_id"]] if data.get("assignee_id") else []
        return "ticket_assigned", assigned, {}
    if event.name in ("sla_warning", "sla_breached"):
        alert = "warning" if event.name == "sla_warning" else "breach"
        data = {"alert": alert, "target": data.get("target")}
        if not assignee and ticket.get("group_id"):
            return "group_sla", store.group_members(conn, ticket["group_id"]), data
        return "ticket_sla", assignee, data
    if event.name == "sla_escalated" and data.get("action") == "notify_group":
        # an SLA policy's escalation: the group it names (or the ticket's) is told
        if data.get("group_id"):
            alert = {"alert": data.get("level"), "target": data.get("target")}
            return "group_sla", store.group_members(conn, data["group_id"]), alert
    return None, [], {}


def on_ticketing(conn, event, settings):
    """Keep the ticket and record the notices the event makes; how many were new."""
    ticket = projections.apply_ticketing(conn, event, settings.notifications_unknown_ticket_seconds)
    kind, people, data = recipients(event, ticket, conn)
    if kind is None:
        return 0
    return _notify(conn, event, kind, people, data, ticket["ticket_id"])


def on_webhook_disabled(conn, event):
    """Tell the tenant's admins that a webhook was disabled (ids and counts only)."""
    data = {key: event.data.get(key) for key in ("webhook_id", "reason", "attempts")}
    return _notify(conn, event, "webhook_disabled", store.admins(conn), data)


def _notify(conn, event, kind, people, data, ticket_id=None):
    actor = _actor(event)
    added = 0
    for user_id in dict.fromkeys(people):
        if user_id == actor or store.is_erased(conn, user_id):
            continue
        notice = {
            "notice_id": notice_id(event.event_id, user_id),
            "user_id": user_id,
            "kind": kind,
            "ticket_id": ticket_id,
            "event_id": event.event_id,
            "data": data,
        }
        added += _add(conn, event.tenant_id, notice)
    return added


def _add(conn, tenant_id, notice):
    chosen = channels(conn, notice["user_id"])[notice["kind"]]
    if not (chosen["email"] or chosen["platform"]):
        return 0
    return int(
        store.add_notice(conn, tenant_id, notice, platform=chosen["platform"], mail=chosen["email"])
    )


def policy_data(event):
    data = event.data or {}
    return {key: data.get(key) for key in ("version", "title", "summary", "url", "published_at")}


def on_policy_published(tenants, event):
    """A notice and a mail for every member of every tenant, each tenant in its own
    transaction (idempotent per member: a retry after a failure adds only what is missing)."""
    reached = 0
    for tenant_id in tenants.with_members():
        with tenants.transaction(tenant_id) as conn:
            reached += store.announce_to_members(
                conn, tenant_id, event.event_id, POLICY, policy_data(event)
            )
    return reached


# preferences


def channels(conn, user_id):
    """{kind: {"email", "platform"}} for every kind: the user's choice, else both on; the
    policy notice always both."""
    chosen = store.preferences(conn, user_id)
    return {
        kind: dict(DEFAULT) if kind in MANDATORY else {**DEFAULT, **chosen.get(kind, {})}
        for kind in KINDS
    }


def preferences_view(conn, user_id):
    return {
        "preferences": [
            {"kind": kind, **chosen, "optional": kind not in MANDATORY}
            for kind, chosen in channels(conn, user_id).items()
        ]
    }


def set_preferences(conn, tenant_id, user_id, changes):
    """Apply [{kind, email?, platform?}]; `NotOptional` for turning off the policy notice."""
    current = channels(conn, user_id)
    for change in changes:
        kind = change["kind"]
        wanted = {**current[kind], **{k: v for k, v in change.items() if k != "kind"}}
        if kind in MANDATORY:
            if wanted != DEFAULT:
                raise NotOptional(kind)
            continue
        store.set_preference(conn, tenant_id, user_id, kind, wanted["email"], wanted["platform"])
    return preferences_view(conn, user_id)


# the in-platform list


def notices(conn, user_id, limit, after=None, unread=False):
    return store.notices(conn, user_id, limit + 1, after=after, unread=unread)


def unread(conn, user_id):
    return store.unread_count(conn, user_id)


def mark_read(conn, user_id, notice):
    read_at = store.mark_read(conn, user_id, notice)
    if read_at is None:
        raise NoticeNotFound()
    return {"id": notice, "read": True, "read_at": read_at.isoformat()}
