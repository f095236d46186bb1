"""Marshmallow schemas of the audit API: log queries and the checkpoint_signed event data."""

from marshmallow import EXCLUDE, Schema, fields, validate

from shared.envelope import EVENT_TYPE

# the media type of a log streamed as one JSON entry a line (asked for in Accept)
NDJSON = "application/x-ndjson"


class EventQuerySchema(Schema):
    """GET /v1/audit/events: filters; `limit` and `cursor` are read by the shared helpers."""

    class Meta:
        unknown = EXCLUDE

    after_seq = fields.Integer(load_default=0, validate=validate.Range(min=0))
    event_type = fields.String(load_default=None, validate=validate.Regexp(EVENT_TYPE))
    stream_id = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    from_time = fields.AwareDateTime(data_key="from", load_default=None)
    to_time = fields.AwareDateTime(data_key="to", load_default=None)


class CheckpointSignedSchema(Schema):
    """Data of `audit.checkpoint_signed`: ids, a hash and a signature, no personal data."""

    seq = fields.Integer(required=True)
    hash = fields.String(required=True)
    key_id = fields.String(required=True)
    signature = fields.String(required=True)
    signed_at = fields.String(required=True)
