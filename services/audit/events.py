"""Audit's event types: each data field's class (audit emits no personal data of its own)."""

from marshmallow import fields

from shared.classified import Digest, EventData, Timestamp, register


class CheckpointSigned(EventData):
    seq = fields.Integer()
    hash, key_id, signature = Digest(), Digest(), Digest()
    signed_at = Timestamp()


register("audit.checkpoint_signed", CheckpointSigned)
