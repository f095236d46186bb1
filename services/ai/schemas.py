"""marshmallow schemas of the ai service: HTTP answers, RPC arguments and the data of its events."""

from marshmallow import Schema, fields, validate


class SimilarTicketSchema(Schema):
    ticket_id = fields.String(required=True)
    score = fields.Float(required=True)


class TriageSchema(Schema):
    ticket_id = fields.String(required=True)
    category = fields.String(allow_none=True)
    priority = fields.String(allow_none=True)
    confidence = fields.Float(required=True)
    category_confidence = fields.Float()
    priority_confidence = fields.Float()
    basis = fields.String(validate=validate.OneOf(("model", "majority", "empty")))
    similar = fields.List(fields.Nested(SimilarTicketSchema), required=True)


class SimilarPageSchema(Schema):
    ticket_id = fields.String(required=True)
    items = fields.List(fields.Nested(SimilarTicketSchema), required=True)


class SummarySchema(Schema):
    ticket_id = fields.String(required=True)
    summary = fields.String(required=True)
    provider = fields.String(required=True)


class ReplySchema(Schema):
    ticket_id = fields.String(required=True)
    reply = fields.String(required=True)
    provider = fields.String(required=True)


class SubjectSchema(Schema):
    """Arguments of the privacy participant RPCs."""

    tenant_id = fields.UUID(required=True)
    subject_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    request_id = fields.String(load_default=None, validate=validate.Length(max=200))


class TriageSuggestedSchema(Schema):
    """Data of ``ai.triage_suggested``: labels and ticket ids only."""

    ticket_id = fields.String(required=True)
    category = fields.String(allow_none=True, required=True)
    priority = fields.String(allow_none=True, required=True)
    confidence = fields.Float(required=True)
    similar = fields.List(fields.String(), required=True)
