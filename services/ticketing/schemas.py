"""marshmallow schemas of ticketing's HTTP bodies, query strings and the SLA policy document."""

from datetime import time

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from services.ticketing.domain import LEVELS, LINK_KINDS, PRIORITIES, STATUSES, TICKET_TYPES
from services.ticketing.sla import BusinessCalendar, SlaPolicy

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TEXT_MAX = 20_000


class CreateTicketSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(TICKET_TYPES))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=TEXT_MAX))
    urgency = fields.String(load_default="medium", validate=validate.OneOf(LEVELS))
    impact = fields.String(load_default="medium", validate=validate.OneOf(LEVELS))
    critical = fields.Boolean(load_default=False)
    category = fields.String(load_default=None, allow_none=True)
    requester_id = fields.String(load_default=None, allow_none=True)
    watchers = fields.List(fields.String(), load_default=list)
    tags = fields.List(fields.String(), load_default=list)


class UpdateTicketSchema(Schema):
    """PATCH: only the fields present change; tags and watchers replace the whole set.

    People must be UUIDs of the tenant's members, lists stay within their bounds (watchers
    100, tags 20 per ticket): the domain checks both when it decides (422 naming the field)."""

    title = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=TEXT_MAX))
    type = fields.String(validate=validate.OneOf(TICKET_TYPES))
    category = fields.String()
    urgency = fields.String(validate=validate.OneOf(LEVELS))
    impact = fields.String(validate=validate.OneOf(LEVELS))
    critical = fields.Boolean()
    assignee_id = fields.String(allow_none=True)
    group_id = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    watchers = fields.List(fields.String())

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("send at least one field to change")


class TransitionSchema(Schema):
    to = fields.String(required=True, validate=validate.OneOf(STATUSES))
    reason = fields.String(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=TEXT_MAX))


class CommentSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=TEXT_MAX))
    public = fields.Boolean(load_default=True)


class LinkSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(sorted(LINK_KINDS)))
    ticket_id = fields.UUID(required=True)


class ListQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    status = fields.String(validate=validate.OneOf(STATUSES))
    type = fields.String(validate=validate.OneOf(TICKET_TYPES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    assignee = fields.String()
    requester = fields.String()
    q = fields.String(validate=validate.Length(min=1, max=200))


class TargetSchema(Schema):
    first_response_minutes = fields.Integer(required=True, validate=validate.Range(min=1))
    resolution_minutes = fields.Integer(required=True, validate=validate.Range(min=1))


class WindowField(fields.List):
    """An opening window ["09:00", "17:00"]; equal start and end is a full day."""

    def __init__(self, **kwargs):
        super().__init__(fields.Time(format="%H:%M"), validate=validate.Length(equal=2), **kwargs)


class SlaPolicySchema(Schema):
    """The document of GET/PUT /v1/sla/policy; loads into an SlaPolicy."""

    timezone = fields.String(required=True)
    hours = fields.Dict(
        keys=fields.String(validate=validate.OneOf(WEEKDAYS)),
        values=fields.List(WindowField()),
        required=True,
    )
    holidays = fields.List(fields.Date(), load_default=list)
    targets = fields.Dict(
        keys=fields.String(validate=validate.OneOf(PRIORITIES)),
        values=fields.Nested(TargetSchema),
        required=True,
    )
    warning_ratio = fields.Float(load_default=0.75, validate=validate.Range(min=0.01, max=0.99))

    @post_load
    def make_policy(self, data, **kwargs):
        try:
            calendar = BusinessCalendar(
                data["timezone"],
                {
                    WEEKDAYS.index(day): [tuple(window) for window in windows]
                    for day, windows in data["hours"].items()
                },
                frozenset(data["holidays"]),
            )
            return SlaPolicy(
                calendar,
                {
                    priority: (target["first_response_minutes"], target["resolution_minutes"])
                    for priority, target in data["targets"].items()
                },
                data["warning_ratio"],
            )
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


def policy_document(policy):
    """The JSON document of an SlaPolicy (what SlaPolicySchema loads)."""
    calendar = policy.calendar
    return {
        "timezone": calendar.timezone,
        "hours": {
            WEEKDAYS[day]: [[_hhmm(start), _hhmm(end)] for start, end in windows]
            for day, windows in sorted(calendar.hours.items())
            if windows
        },
        "holidays": sorted(day.isoformat() for day in calendar.holidays),
        "targets": {
            priority: {"first_response_minutes": first, "resolution_minutes": resolution}
            for priority, (first, resolution) in policy.targets.items()
        },
        "warning_ratio": policy.warning_ratio,
    }


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def load_policy_document(document) -> SlaPolicy:
    return SlaPolicySchema().load(document)


__all__ = [
    "CommentSchema",
    "CreateTicketSchema",
    "LinkSchema",
    "ListQuerySchema",
    "SlaPolicySchema",
    "TransitionSchema",
    "UpdateTicketSchema",
    "load_policy_document",
    "policy_document",
]
