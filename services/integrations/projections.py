"""What a consumed event becomes here: a row of the tenant's feed and one delivery per
subscribed endpoint, in the handler's transaction (the inbox makes it happen once)."""

from services.integrations import payloads, store
from services.integrations.events import P

PINGED = P + "webhook_pinged"


def apply(conn, envelope):
    body = payloads.payload(envelope)
    if not store.record_feed(conn, envelope.tenant_id, body):
        return  # already projected (the same event id, published twice)
    if envelope.event_type == PINGED:
        # a test delivery goes to the webhook tested and no other
        target = store.webhook(conn, envelope.data["webhook_id"])
        targets = [target["id"]] if target and target["enabled"] else []
    else:
        targets = store.subscribers(conn, payloads.subscriptions_of(envelope.event_type))
    store.add_deliveries(conn, envelope.tenant_id, body["id"], envelope.event_type, targets)
