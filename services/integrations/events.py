"""The integrations service's event types: ids and slugs only (a webhook's url, description
and secret never leave its table)."""

from marshmallow import fields

from shared.classified import EventData, Id, Slug, Slugs, register

P = "integrations."
CHANGEABLE = ("url", "events", "description", "enabled")
DISABLED_REASONS = ("retries_exhausted",)


class WebhookCreated(EventData):
    webhook_id = Id()


class WebhookUpdated(EventData):
    webhook_id = Id()
    changed = Slugs(*CHANGEABLE, data_key="fields")
    enabled = fields.Boolean()


class WebhookDeleted(EventData):
    webhook_id = Id()


class WebhookPinged(EventData):
    webhook_id = Id()


class WebhookDisabled(EventData):
    webhook_id, delivery_id = Id(), Id()
    reason = Slug(*DISABLED_REASONS)
    attempts = fields.Integer()


register(P + "webhook_created", WebhookCreated)
register(P + "webhook_updated", WebhookUpdated)
register(P + "webhook_deleted", WebhookDeleted)
register(P + "webhook_pinged", WebhookPinged)
register(P + "webhook_disabled", WebhookDisabled)
