"""API documents of groups, routing rules and queues: bodies, queries, what the API shows."""

import datetime
import uuid

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.ticketing.domain import ACTIVE, PRIORITIES, TICKET_TYPES, Condition, RoutingRule
from services.ticketing.domain.groups import DESCRIPTION_MAX, NAME_MAX
from services.ticketing.domain.routing import RULES_MAX, STRATEGIES
from services.ticketing.domain.validation import CATEGORY_PATTERN
from services.ticketing.schemas import iso, ticket_summary

FIELD_KEY = r"^[a-z][a-z0-9_]{0,49}\Z"
FIELD_VALUE_MAX = 200


class CreateGroupSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=NAME_MAX))
    description = fields.String(load_default="", validate=validate.Length(max=DESCRIPTION_MAX))


class UpdateGroupSchema(Schema):
    """PATCH: only the fields present change."""

    name = fields.String(validate=validate.Length(min=1, max=NAME_MAX))
    description = fields.String(validate=validate.Length(max=DESCRIPTION_MAX))

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("send at least one field to change")


class GroupSchema(Schema):
    """A group as the API shows it (documentation of the responses)."""

    id = fields.UUID()
    name = fields.String()
    description = fields.String()
    members = fields.List(fields.UUID())
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class GroupListQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    member = fields.UUID(metadata={"description": "only the groups this user is a member of"})


class FieldValue(fields.Field):
    """A custom field's expected value: text, a number or a boolean, kept as text (matched
    against the ticket's value as text: true/false for booleans)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and 0 < len(value) <= FIELD_VALUE_MAX:
            return value
        raise ValidationError(
            f"must be text of 1 to {FIELD_VALUE_MAX} characters, a number or a boolean"
        )


class RoutingConditionSchema(Schema):
    type = fields.String(validate=validate.OneOf(TICKET_TYPES))
    category = fields.String(validate=validate.Regexp(CATEGORY_PATTERN.pattern + r"\Z"))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    fields_ = fields.Dict(
        keys=fields.String(validate=validate.Regexp(FIELD_KEY)),
        values=FieldValue(),
        validate=validate.Length(max=20),
        data_key="fields",
        attribute="fields",
    )


class RoutingTargetSchema(Schema):
    group_id = fields.UUID(required=True)
    strategy = fields.String(load_default="round_robin", validate=validate.OneOf(STRATEGIES))


class RoutingRuleSchema(Schema):
    when = fields.Nested(RoutingConditionSchema, load_default=dict)
    then = fields.Nested(RoutingTargetSchema, required=True)


class AiTriageSchema(Schema):
    enabled = fields.Boolean(required=True)
    min_confidence = fields.Float(load_default=0.8, validate=validate.Range(min=0, max=1))


class RoutingRulesSchema(Schema):
    """The document of GET/PUT /v1/routing-rules: the first rule whose `when` holds sends the
    ticket to `then.group_id`, picking an agent by `then.strategy`. `ai_triage` (opt-in): the
    AI's suggested category is applied to a ticket without one at or above `min_confidence`,
    and the rules then route it."""

    rules = fields.List(
        fields.Nested(RoutingRuleSchema), required=True, validate=validate.Length(max=RULES_MAX)
    )
    ai_triage = fields.Nested(AiTriageSchema, load_default=None)


def rules_document(body):
    """The stored document of a loaded RoutingRulesSchema body (ids as text, no empty parts)."""
    rules = []
    for rule in body["rules"]:
        when = {key: value for key, value in rule["when"].items() if value not in (None, {})}
        then = {"group_id": str(rule["then"]["group_id"]), "strategy": rule["then"]["strategy"]}
        rules.append({"when": when, "then": then})
    document = {"rules": rules}
    if body.get("ai_triage"):
        document["ai_triage"] = dict(body["ai_triage"])
    return document


def load_rules(document):
    """[RoutingRule] of a stored document."""
    return [
        RoutingRule(
            when=Condition(
                type=rule["when"].get("type"),
                category=rule["when"].get("category"),
                priority=rule["when"].get("priority"),
                fields=tuple(sorted(rule["when"].get("fields", {}).items())),
            ),
            group_id=rule["then"]["group_id"],
            strategy=rule["then"]["strategy"],
        )
        for rule in document["rules"]
    ]


class QueueQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    type = fields.String(validate=validate.OneOf(TICKET_TYPES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    status = fields.String(validate=validate.OneOf(sorted(ACTIVE)))
    assigned = fields.Boolean(metadata={"description": "true: assigned only, false: unassigned"})


def group_view(row):
    return {
        "id": str(row["group_id"]),
        "name": row["name"],
        "description": row["description"],
        "members": sorted(str(member) for member in row["members"]),
        "version": row["version"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def queue_item(row):
    """A queue's item: the ticket's summary, with the deadline it is ordered by."""
    item = ticket_summary({k: v for k, v in row.items() if k not in ("queue_due", "priority_rank")})
    item["sla_due"] = iso(row["queue_due"]) if row["queue_due"].year < 9999 else None
    return item


def queue_position(row):
    return [row["queue_due"].isoformat(), row["priority_rank"], str(row["ticket_id"])]


def queue_cursor(position):
    """A cursor of queue pages: (queue_due, priority rank, ticket id)."""
    if not (isinstance(position, list) and len(position) == 3):
        return False
    due, rank, ticket_id = position
    if not (isinstance(due, str) and type(rank) is int and isinstance(ticket_id, str)):
        return False
    try:
        datetime.datetime.fromisoformat(due)
        uuid.UUID(ticket_id)
    except ValueError:
        return False
    return 0 <= rank <= 3
