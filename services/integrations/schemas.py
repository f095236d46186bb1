"""marshmallow schemas: webhook bodies, the feed's query, and what the API shows."""

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.integrations import payloads

MAX_EVENTS = 50


def _subscription(pattern):
    if not payloads.valid_subscription(pattern):
        raise ValidationError(
            "not a known event type, `<service>.*` or `*` (GET /v1/webhooks/event-types lists them)"
        )


class WebhookCreateSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    events = fields.List(
        fields.String(validate=[validate.Length(max=100), _subscription]),
        required=True,
        validate=validate.Length(min=1, max=MAX_EVENTS),
    )
    description = fields.String(load_default="", validate=validate.Length(max=500))


class WebhookPatchSchema(Schema):
    url = fields.String(validate=validate.Length(min=1, max=2000))
    events = fields.List(
        fields.String(validate=[validate.Length(max=100), _subscription]),
        validate=validate.Length(min=1, max=MAX_EVENTS),
    )
    description = fields.String(validate=validate.Length(max=500))
    enabled = fields.Boolean()

    @validates_schema
    def at_least_one(self, data, **kwargs):
        if not data:
            raise ValidationError("change at least one of url, events, description, enabled")


class WebhookSchema(Schema):
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String()
    enabled = fields.Boolean()
    disabled_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String(
        metadata={"description": "whsec_<base64>: shown once, verify deliveries with it"}
    )


class WebhookPageSchema(Schema):
    items = fields.List(fields.Nested(WebhookSchema))
    next_cursor = fields.String(allow_none=True)


class DeliverySchema(Schema):
    id = fields.String()
    webhook_id = fields.String()
    message_id = fields.String(metadata={"description": "the webhook-id header"})
    event_id = fields.String()
    event_type = fields.String()
    redelivery_of = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "pending, delivered or failed"})
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    response_code = fields.Integer(allow_none=True)
    duration_ms = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)


def show_delivery(row):
    shown = DeliverySchema().dump(row)
    if row["status"] != "pending":
        shown["next_attempt_at"] = None
    return shown


class DeliveryPageSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema))
    next_cursor = fields.String(allow_none=True)


class PingSchema(Schema):
    event_id = fields.String()


class EventTypesSchema(Schema):
    items = fields.List(fields.String())


class FeedQuery(Schema):
    """The query of GET /v1/events (for /openapi.json and to read it)."""

    class Meta:
        unknown = EXCLUDE

    after = fields.String(metadata={"description": "a cursor from an earlier answer"})
    types = fields.String(metadata={"description": "event types, comma-separated"})
    wait = fields.Float(
        validate=validate.Range(min=0, max=30),
        metadata={"description": "seconds to wait for a new event (up to 30)"},
    )
    limit = fields.Integer(metadata={"description": "how many events, from 1 to 500"})


def feed_query(args):
    """(types or None, wait seconds) of the feed's query string; 400 when invalid."""
    loaded = FeedQuery(only=("types", "wait")).load(
        {key: args[key] for key in ("types", "wait") if key in args}
    )
    types = [t.strip() for t in loaded.get("types", "").split(",") if t.strip()] or None
    if types and len(types) > MAX_EVENTS:
        raise ValidationError({"types": [f"at most {MAX_EVENTS} types"]})
    return types, loaded.get("wait", 0.0)


class FeedPageSchema(Schema):
    items = fields.List(fields.Dict(), metadata={"description": "payloads, as webhooks get"})
    next_cursor = fields.String(metadata={"description": "where to continue (always set)"})
    has_more = fields.Boolean()
