"""marshmallow schemas of the notifications service: API bodies, what the API shows, RPC
arguments."""

from marshmallow import Schema, fields, validate

from services.notifications.events import KINDS


class PreferenceSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    email = fields.Boolean()
    platform = fields.Boolean(metadata={"description": "listed in GET /v1/me/notifications"})
    optional = fields.Boolean(dump_only=True)


class PreferencesSchema(Schema):
    """GET and PUT /v1/me/notifications/preferences: a kind left out of a PUT is unchanged."""

    preferences = fields.List(
        fields.Nested(PreferenceSchema), required=True, validate=validate.Length(max=len(KINDS))
    )


class NoticeSchema(Schema):
    """One in-platform notice: labels and ids (the portal shows the ticket as its viewer may
    see it)."""

    id = fields.String(attribute="notice_id")
    kind = fields.String()
    ticket_id = fields.String(allow_none=True)
    data = fields.Dict()
    created_at = fields.DateTime()
    read = fields.Function(lambda notice: notice["read_at"] is not None)
    read_at = fields.DateTime(allow_none=True)


class NoticePageSchema(Schema):
    items = fields.List(fields.Nested(NoticeSchema))
    unread = fields.Integer()
    next_cursor = fields.String(allow_none=True)


class NoticesQuery(Schema):
    """GET /v1/me/notifications: the query string, for /openapi.json."""

    limit = fields.Integer(metadata={"description": "how many items, from 1"})
    cursor = fields.String(metadata={"description": "next_cursor of the previous page"})
    unread = fields.Boolean(metadata={"description": "only the unread ones"})


class ReadSchema(Schema):
    id = fields.String()
    read = fields.Boolean()
    read_at = fields.String()


class SubjectSchema(Schema):
    """Arguments of the privacy participant RPCs."""

    tenant_id = fields.UUID(required=True)
    subject_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    request_id = fields.String(load_default=None, validate=validate.Length(max=200))
