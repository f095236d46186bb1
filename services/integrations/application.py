"""The webhook use cases: check, store, append the event (the outbox), and record attempts."""

import uuid

from services.integrations import signing, store, urls
from services.integrations.events import P
from services.integrations.exceptions import DeliveryNotFound, WebhookNotFound
from shared import eventstore
from shared.classified import UUID_PATTERN
from shared.envelope import Envelope, actor_of, system_actor
from shared.errors import Conflict

RETRIES_EXHAUSTED = "retries_exhausted"


def stream_of(webhook_id):
    return f"webhook-{webhook_id}"


def _known(identifier, missing):
    """A path segment that is a UUID, or the resource's 404 (nothing else reaches the SQL)."""
    if not isinstance(identifier, str) or not UUID_PATTERN.match(identifier):
        raise missing()
    return identifier.lower()


def _emit(db, principal, name, webhook_id, data):
    stream_id = stream_of(webhook_id)
    event = db.new_event(name, stream_id, data, actor=actor_of(principal))
    db.append_next(stream_id, [event])
    return event


def create_webhook(db, box, allowance, principal, body):
    """The new webhook with its secret, shown this once."""
    urls.check(body["url"], allowance)
    conn = db.begin(principal.tenant_id)
    webhook_id = str(uuid.uuid4())
    raw, shown = signing.new_secret()
    row = store.insert_webhook(
        conn,
        principal.tenant_id,
        webhook_id,
        body["url"],
        body.get("description", ""),
        body["events"],
        box.seal(principal.tenant_id, webhook_id, raw),
    )
    _emit(db, principal, "webhook_created", webhook_id, {"webhook_id": webhook_id})
    return {**row, "secret": shown}


def webhook(db, principal, webhook_id):
    webhook_id = _known(webhook_id, WebhookNotFound)
    row = store.webhook(db.begin(principal.tenant_id), webhook_id)
    if row is None:
        raise WebhookNotFound()
    return row


def update_webhook(db, allowance, principal, webhook_id, changes):
    webhook_id = _known(webhook_id, WebhookNotFound)
    if "url" in changes:
        urls.check(changes["url"], allowance)
    row = store.update_webhook(db.begin(principal.tenant_id), webhook_id, changes)
    if row is None:
        raise WebhookNotFound()
    data = {"webhook_id": webhook_id, "fields": sorted(changes), "enabled": row["enabled"]}
    _emit(db, principal, "webhook_updated", webhook_id, data)
    return row


def delete_webhook(db, principal, webhook_id):
    webhook_id = _known(webhook_id, WebhookNotFound)
    if not store.delete_webhook(db.begin(principal.tenant_id), webhook_id):
        raise WebhookNotFound()
    _emit(db, principal, "webhook_deleted", webhook_id, {"webhook_id": webhook_id})


def ping_webhook(db, principal, webhook_id):
    """An event whose one delivery goes to this webhook (sent by the dispatcher, as any)."""
    row = webhook(db, principal, webhook_id)
    if not row["enabled"]:
        raise Conflict("the webhook is disabled: enable it before testing it")
    event = _emit(db, principal, "webhook_pinged", row["id"], {"webhook_id": row["id"]})
    return {"event_id": event.event_id}


def delivery(db, principal, webhook_id, delivery_id):
    row = webhook(db, principal, webhook_id)
    delivery_id = _known(delivery_id, DeliveryNotFound)
    found = store.delivery(db.conn, row["id"], delivery_id)
    if found is None:
        raise DeliveryNotFound()
    return found


def redeliver(db, principal, webhook_id, delivery_id):
    """A new delivery of the same message (the same `webhook-id`), attempted afresh."""
    original = delivery(db, principal, webhook_id, delivery_id)
    new_id = store.redeliver(db.conn, principal.tenant_id, original)
    return store.delivery(db.conn, original["webhook_id"], new_id)


def record_outcome(conn, tenant_id, claimed, outcome, schedule):
    """Delivered; or pending again after the schedule's next wait; or, with the schedule spent,
    failed, and its endpoint disabled with `integrations.webhook_disabled` in the outbox."""
    attempt = claimed["attempts"] + 1
    if outcome.delivered:
        status, wait = "delivered", 0
    elif attempt < len(schedule):
        status, wait = "pending", schedule[attempt]
    else:
        status, wait = "failed", 0
    store.record_attempt(conn, claimed["delivery_id"], outcome, status, wait)
    if status == "failed" and store.disable_webhook(conn, claimed["webhook_id"], RETRIES_EXHAUSTED):
        stream_id = stream_of(claimed["webhook_id"])
        data = {
            "webhook_id": claimed["webhook_id"],
            "delivery_id": claimed["delivery_id"],
            "reason": RETRIES_EXHAUSTED,
            "attempts": attempt,
        }
        event = Envelope.new(
            P + "webhook_disabled",
            tenant_id,
            stream_id,
            data,
            actor=system_actor("integrations"),
        )
        eventstore.append_next(conn, stream_id, [event])
    return status
