"""The ai service's event types: each data field's class (labels and ids, never text)."""

from marshmallow import fields

from shared.classified import EventData, Id, Ids, Slug, register


class TriageSuggested(EventData):
    ticket_id = Id()
    category, priority = Slug(), Slug()
    confidence = fields.Float()
    similar = Ids()


register("ai.triage_suggested", TriageSuggested)
