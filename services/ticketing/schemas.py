"""API documents: bodies, queries, the commands they stand for, what the API shows, SLA policy."""

import re
import uuid
from datetime import UTC, datetime, time, timedelta

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from services.ticketing import reports
from services.ticketing.domain import (
    ALLOWED,
    ERASED,
    LEVELS,
    LINK_KINDS,
    PENDING_REASONS,
    PRIORITIES,
    STATUSES,
    TICKET_TYPES,
    AssignTicket,
    ChangeWatchers,
    OpenTicket,
    PlanChange,
    SetFields,
    SetPriority,
    TagTicket,
    Transition,
    UpdateTicket,
)
from services.ticketing.domain.approvals import APPROVER_ROLES, DECISIONS, RISKS
from services.ticketing.domain.fields import (
    EXTERNAL_ID_MAX,
    FIELD_TYPES,
    FIELDS_CHANGED,
    OPTIONS_MAX,
    SEALED_ENTRY,
    open_sealed,
)
from services.ticketing.domain.model import (
    ATTACHMENT_ADDED,
    ATTACHMENT_REMOVED,
    COMMENT_ADDED,
    COMMENT_EDITED,
)
from services.ticketing.exceptions import InvalidQuery
from services.ticketing.sla import (
    DEFAULT_POLICY_ID,
    BusinessCalendar,
    Escalation,
    SlaMatch,
    SlaPolicies,
    SlaPolicy,
    default_policy,
    field_text,
)

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
    field_values = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(allow_none=True),
        load_default=dict,
        data_key="fields",
        metadata={"description": "custom field values by key (GET /v1/ticket-fields)"},
    )
    external_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=EXTERNAL_ID_MAX),
        metadata={"description": "the integrator's id of the ticket, unique per tenant"},
    )
    # a change's planned window and risk (approvals.py): 422 on another type
    planned_start = fields.AwareDateTime(load_default=None, allow_none=True)
    planned_end = fields.AwareDateTime(load_default=None, allow_none=True)
    risk = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(RISKS))


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
    field_values = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(allow_none=True),
        data_key="fields",
        metadata={"description": "custom field values to set; null clears one"},
    )
    planned_start = fields.AwareDateTime()
    planned_end = fields.AwareDateTime()
    risk = fields.String(validate=validate.OneOf(RISKS))

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
    external_id = fields.String(validate=validate.Length(min=1, max=EXTERNAL_ID_MAX))


# the bulk import: one historic ticket a line (NDJSON)

IMPORT_COMMENTS_MAX = 200


class ImportCommentSchema(Schema):
    author_id = fields.String(required=True)
    body = fields.String(required=True, validate=validate.Length(min=1, max=TEXT_MAX))
    internal = fields.Boolean(load_default=False)
    created_at = fields.AwareDateTime(required=True)


class ImportLineSchema(Schema):
    """One line of POST /v1/tickets/import: a ticket of another help desk with its history.

    The times are the ticket's own (timezone required): it opens at `opened_at`, each comment
    is added at its `created_at` by its author, and the ticket reaches `status` at
    `resolved_at` / `closed_at` / `cancelled_at` (resolved, closed, cancelled) or
    `status_changed_at` (in_progress, pending; default `opened_at`). `priority` alone picks
    the urgency and impact that give it; `critical` sets the override."""

    content_type = "application/x-ndjson"

    external_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.OneOf(TICKET_TYPES))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=TEXT_MAX))
    status = fields.String(load_default="new", validate=validate.OneOf(STATUSES))
    pending_reason = fields.String(
        load_default="awaiting_third_party", validate=validate.OneOf(sorted(PENDING_REASONS))
    )
    priority = fields.String(load_default=None, validate=validate.OneOf(PRIORITIES))
    urgency = fields.String(load_default=None, validate=validate.OneOf(LEVELS))
    impact = fields.String(load_default=None, validate=validate.OneOf(LEVELS))
    critical = fields.Boolean(load_default=False)
    category = fields.String(load_default=None, allow_none=True)
    requester_id = fields.String(required=True)
    opened_at = fields.AwareDateTime(required=True)
    status_changed_at = fields.AwareDateTime(load_default=None)
    resolved_at = fields.AwareDateTime(load_default=None)
    closed_at = fields.AwareDateTime(load_default=None)
    cancelled_at = fields.AwareDateTime(load_default=None)
    comments = fields.List(
        fields.Nested(ImportCommentSchema),
        load_default=list,
        validate=validate.Length(max=IMPORT_COMMENTS_MAX),
    )

    @validates_schema
    def times_fit_the_status(self, data, **kwargs):
        status = data.get("status", "new")
        wanted = {
            "resolved": {"resolved_at"},
            "closed": {"closed_at"},
            "cancelled": {"cancelled_at"},
        }.get(status, set())
        allowed = {
            "in_progress": {"status_changed_at"},
            "pending": {"status_changed_at"},
            "resolved": {"resolved_at"},
            "closed": {"resolved_at", "closed_at"},
            "cancelled": {"cancelled_at"},
        }.get(status, set())
        errors = {}
        for name in ("status_changed_at", "resolved_at", "closed_at", "cancelled_at"):
            if name in wanted and data.get(name) is None:
                errors[name] = [f"required for a ticket in status {status}"]
            elif name not in allowed and data.get(name) is not None:
                errors[name] = [f"not taken for a ticket in status {status}"]
        if errors:
            raise ValidationError(errors)


# what a body asks for, as domain commands


def open_command(actor, ticket_id, body):
    return OpenTicket(
        actor=actor,
        ticket_id=ticket_id,
        type=body["type"],
        title=body["title"],
        description=body["description"],
        urgency=body["urgency"],
        impact=body["impact"],
        critical=body["critical"],
        category=body["category"],
        requester_id=body["requester_id"],
        watchers=frozenset(body["watchers"]),
        tags=frozenset(body["tags"]),
        fields=body.get("field_values") or {},
        external_id=body.get("external_id"),
    )


def plan_commands(actor, body):
    """The PlanChange a body's planned window and risk stand for (none when it sets neither)."""
    plan = {key: body.get(key) for key in ("planned_start", "planned_end", "risk")}
    return [PlanChange(actor=actor, **plan)] if any(v is not None for v in plan.values()) else []


def _canonical(value):
    """A UUID in its canonical spelling, so that a PATCH compares ids as the state holds them;
    anything else as sent (the domain refuses it, naming the field)."""
    try:
        return str(uuid.UUID(value))
    except (TypeError, ValueError, AttributeError):
        return value


def patch_commands(state, actor, changes):
    """The commands a PATCH stands for, in a fixed order; fields absent from it stay as they are."""
    commands = []
    details = {
        key: changes[key] for key in ("title", "description", "type", "category") if key in changes
    }
    if details:
        commands.append(UpdateTicket(actor=actor, **details))
    priority = {key: changes[key] for key in ("urgency", "impact", "critical") if key in changes}
    if priority:
        commands.append(SetPriority(actor=actor, **priority))
    if "assignee_id" in changes or "group_id" in changes:
        commands.append(
            AssignTicket(
                actor=actor,
                assignee_id=changes.get("assignee_id", state.assignee_id),
                group_id=changes.get("group_id", state.group_id),
            )
        )
    if "tags" in changes:
        wanted = frozenset(tag.strip().lower() for tag in changes["tags"])
        if wanted != state.tags:
            commands.append(
                TagTicket(actor=actor, add=wanted - state.tags, remove=state.tags - wanted)
            )
    if "watchers" in changes:
        wanted = frozenset(map(_canonical, changes["watchers"]))
        if wanted != state.watchers:
            commands.append(
                ChangeWatchers(
                    actor=actor, add=wanted - state.watchers, remove=state.watchers - wanted
                )
            )
    retyped = changes.get("type", state.type) != state.type
    if "field_values" in changes or retyped:
        # a new type may require fields: checked after the UpdateTicket that changes it
        commands.append(
            SetFields(actor=actor, fields=changes.get("field_values", {}), complete=retyped)
        )
    return commands + plan_commands(actor, changes)


# what the API shows, per caller


_INSTANTS = (
    "opened_at",
    "updated_at",
    "first_responded_at",
    "resolved_at",
    "closed_at",
    "cancelled_at",
    "sla_first_response_due",
    "sla_resolution_due",
)


def ticket_summary(row):
    """A list item: the read-model row without the description's full text."""
    body = {
        key: iso(row[key]) if key in _INSTANTS else row[key]
        for key in row
        if key
        not in (
            "ticket_id",
            "sla_next_at",
            "sla_history",
            "description",
            "fields",
            "personal_fields",
        )
    }
    body["id"] = str(row["ticket_id"])
    body["watchers"], body["tags"] = list(row["watchers"]), list(row["tags"])
    body["allowed_transitions"] = sorted(ALLOWED[row["status"]])
    return body


def ticket_detail(row, comments, sla):
    body = ticket_summary(row)
    body["description"] = row["description"]
    body["fields"] = {**row.get("fields", {}), **row.get("personal_fields", {})}
    body["comments"] = [comment_view(c) for c in comments]
    body["sla"] = {
        target: clock_view(clock) for target, clock in sla.items() if target != "policy_id"
    }
    body["sla"]["policy_id"] = sla.get("policy_id", DEFAULT_POLICY_ID)
    return body


def comment_view(comment):
    return {
        "id": str(comment["comment_id"]),
        "author_id": comment["author_id"],
        "body": comment["body"],
        "public": not comment["internal"],
        "created_at": iso(comment["created_at"]),
        "edited_at": iso(comment["edited_at"]),
    }


def clock_view(clock):
    return {
        "target_minutes": clock["target_minutes"],
        "elapsed_seconds": round(clock["elapsed_seconds"], 3),
        "remaining_seconds": round(clock["remaining_seconds"], 3),
        "paused": clock["paused"],
        "stopped": clock["stopped"],
        "breached": clock["breached"],
        "warned": clock["warned"],
        "due_at": iso(clock["due_at"]),
        "met_at": iso(clock["met_at"]),
        **({"round": clock["round"]} if "round" in clock else {}),
    }


def history_view(events, envelopes, privileged):
    """The stream as a timeline; internal comments (and their edits) and the files on them
    only for staff."""
    internal = {
        e.data["comment_id"] for e in events if e.type == COMMENT_ADDED and e.data.get("internal")
    }
    internal_files = {
        e.data["attachment_id"]
        for e in events
        if e.type == ATTACHMENT_ADDED and e.data.get("internal")
    }
    entries = []
    for event, envelope in zip(events, envelopes):
        if not privileged and (
            (event.type in (COMMENT_ADDED, COMMENT_EDITED) and event.data["comment_id"] in internal)
            or (
                event.type in (ATTACHMENT_ADDED, ATTACHMENT_REMOVED)
                and event.data["attachment_id"] in internal_files
            )
        ):
            continue
        entries.append(
            {
                "version": event.version,
                "event_id": envelope.event_id,
                "type": envelope.event_type,
                "occurred_at": envelope.occurred_at,
                "actor": envelope.actor,
                "data": event.data,
                "fields": _opened_fields(event),
                "erased": sorted(n for n, v in event.pii.items() if v == ERASED),
            }
        )
    return entries


def _opened_fields(event):
    """The event's opened personal fields; a fields_changed event's sealed values as the
    object they are (each "[erased]" once its subject is)."""
    opened = dict(event.pii)
    if event.type == FIELDS_CHANGED and SEALED_ENTRY in opened:
        opened[SEALED_ENTRY] = open_sealed(opened[SEALED_ENTRY], event.data.get("sealed", ()))
    return opened


class AttachmentQuerySchema(Schema):
    """The query of an upload: the file's name (or a Content-Disposition header) and the
    comment it rides on."""

    filename = fields.String(metadata={"description": "the file's name"})
    comment_id = fields.UUID(metadata={"description": "the comment the file rides on"})


class AttachmentSchema(Schema):
    id = fields.UUID()
    ticket_id = fields.UUID()
    comment_id = fields.UUID(allow_none=True)
    public = fields.Boolean()
    file_name = fields.String()
    size = fields.Integer()
    content_type = fields.String()
    scan = fields.String(metadata={"description": "clean, infected or not_scanned"})
    uploaded_by = fields.String()
    created_at = fields.DateTime()


class FileBodySchema(Schema):
    """The body of an upload: the file's bytes, of any type (its type is found from them)."""

    content_type = "application/octet-stream"
    raw_schema = {"type": "string", "format": "binary"}


def attachment_comment(request):
    """The `comment_id` of an upload's query, or None; 400 when it is no UUID."""
    raw = request.args.get("comment_id")
    if raw is None:
        return None
    try:
        return str(uuid.UUID(raw))
    except ValueError as exc:
        raise ValidationError({"comment_id": ["Not a valid UUID."]}) from exc


def attachment_view(row):
    return {
        "id": str(row["attachment_id"]),
        "ticket_id": str(row["ticket_id"]),
        "comment_id": str(row["comment_id"]) if row["comment_id"] else None,
        "public": not row["internal"],
        "file_name": row["file_name"],
        "size": row["size"],
        "content_type": row["content_type"],
        "scan": row["scan"],
        "uploaded_by": row["uploaded_by"],
        "created_at": iso(row["created_at"]),
    }


def iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


# custom ticket fields


class TicketFieldSchema(Schema):
    """POST /v1/ticket-fields: a custom field of the tenant's tickets."""

    key = fields.String(required=True, validate=validate.Length(min=1, max=50))
    type = fields.String(required=True, validate=validate.OneOf(FIELD_TYPES))
    options = fields.List(
        fields.String(), load_default=list, validate=validate.Length(max=OPTIONS_MAX)
    )
    required_for = fields.List(
        fields.String(validate=validate.OneOf(TICKET_TYPES)), load_default=list
    )
    personal = fields.Boolean(
        load_default=None,
        allow_none=True,
        metadata={"description": "sealed under the requester's key; text fields always are"},
    )


class TicketFieldChangeSchema(Schema):
    """PATCH /v1/ticket-fields/{key}: options and required ticket types (key, type and
    personal stay)."""

    options = fields.List(fields.String(), validate=validate.Length(max=OPTIONS_MAX))
    required_for = fields.List(fields.String(validate=validate.OneOf(TICKET_TYPES)))

    @validates_schema
    def not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("send options or required_for")


def field_view(definition):
    return {**definition.as_data(), "sealed": definition.sealed}


# bulk operations

BULK_MAX = 100
BULK_OPS = ("assign", "transition", "tag", "set_field")


class BulkItemSchema(Schema):
    """One item: `ticket_id`, `op` and that op's arguments (assign: assignee_id, group_id;
    transition: to, reason, note; tag: add, remove; set_field: key, value); `version`, as
    If-Match does for one ticket."""

    ticket_id = fields.String(required=True)
    op = fields.String(required=True, validate=validate.OneOf(BULK_OPS))
    assignee_id = fields.String(allow_none=True)
    group_id = fields.String(allow_none=True)
    to = fields.String(validate=validate.OneOf(STATUSES))
    reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=TEXT_MAX))
    add = fields.List(fields.String(), load_default=list)
    remove = fields.List(fields.String(), load_default=list)
    key = fields.String()
    value = fields.Raw(allow_none=True)
    version = fields.Integer(
        validate=validate.Range(min=0),
        metadata={"description": "the ticket's ETag as last read: 412 for this item if stale"},
    )

    @validates_schema
    def op_arguments(self, data, **kwargs):
        needed = {"transition": ("to",), "set_field": ("key", "value")}.get(data.get("op"), ())
        missing = [name for name in needed if name not in data]
        if missing:
            raise ValidationError({name: ["required by this op"] for name in missing})


class BulkSchema(Schema):
    """POST /v1/tickets/bulk: up to 100 items, each one command on one ticket. Each item is
    loaded on its own (BulkItemSchema): a malformed one is that item's 400, not the request's."""

    items = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1))


class BulkDocumentSchema(Schema):
    """The bulk body as /openapi.json documents it: its items in full."""

    items = fields.List(
        fields.Nested(BulkItemSchema),
        required=True,
        validate=validate.Length(min=1, max=BULK_MAX),
    )


def bulk_commands(actor, item):
    """A function of the ticket's state returning the command a bulk item stands for (the
    same commands the single-ticket routes issue)."""
    op = item["op"]
    if op == "assign":
        return lambda state: [
            AssignTicket(
                actor=actor,
                assignee_id=item.get("assignee_id", state.assignee_id),
                group_id=item.get("group_id", state.group_id),
            )
        ]
    if op == "transition":
        return lambda state: [
            Transition(actor=actor, to=item["to"], reason=item.get("reason"), note=item.get("note"))
        ]
    if op == "tag":
        return lambda state: [
            TagTicket(actor=actor, add=frozenset(item["add"]), remove=frozenset(item["remove"]))
        ]
    return lambda state: [SetFields(actor=actor, fields={item["key"]: item["value"]})]


# the SLA policy documents

POLICY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\Z")
POLICIES_MAX = 50
SLA_TARGETS_NAMES = ("first_response", "resolution", "next_response")


class TargetSchema(Schema):
    first_response_minutes = fields.Integer(required=True, validate=validate.Range(min=1))
    resolution_minutes = fields.Integer(required=True, validate=validate.Range(min=1))
    next_response_minutes = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1)
    )


class WindowField(fields.List):
    """An opening window ["09:00", "17:00"]; equal start and end is a full day."""

    def __init__(self, **kwargs):
        super().__init__(fields.Time(format="%H:%M"), validate=validate.Length(equal=2), **kwargs)


class EscalationSchema(Schema):
    on = fields.String(required=True, validate=validate.OneOf(("warning", "breach")))
    action = fields.String(
        required=True, validate=validate.OneOf(("notify_group", "reassign", "raise_priority"))
    )
    target = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(SLA_TARGETS_NAMES)
    )
    group_id = fields.UUID(load_default=None, allow_none=True)


class FieldValues(fields.Field):
    """A custom field's wanted value, or a list of them: text, numbers or booleans, kept as
    their text (true/false for booleans) so they compare with the ticket's values the same."""

    def _deserialize(self, value, attr, data, **kwargs):
        values = value if isinstance(value, list) else [value]
        if not values or len(values) > 50:
            raise ValidationError("one to 50 values")
        if not all(isinstance(v, (str, int, float, bool)) for v in values):
            raise ValidationError("values are text, numbers or booleans")
        if any(isinstance(v, str) and not 0 < len(v) <= 200 for v in values):
            raise ValidationError("a text value is 1 to 200 characters")
        return sorted({field_text(v) for v in values})


class MatchSchema(Schema):
    """Every condition given must hold (each a list: any of its values); none: every ticket."""

    type = fields.List(fields.String(validate=validate.OneOf(TICKET_TYPES)), load_default=list)
    priority = fields.List(fields.String(validate=validate.OneOf(PRIORITIES)), load_default=list)
    group_id = fields.List(fields.UUID(), load_default=list)
    fields_ = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,63}\Z")),
        values=FieldValues(),
        load_default=dict,
        data_key="fields",
        attribute="fields",
    )


class SlaPolicySchema(Schema):
    """The document of GET/PUT /v1/sla/policy (the default policy); loads into an SlaPolicy.

    `country` (ISO 3166 code, e.g. "FR") adds that country's public holidays (and its
    `subdivision`'s) to the tenant's own `holidays`; `escalations` act on a warning or breach."""

    timezone = fields.String(required=True)
    hours = fields.Dict(
        keys=fields.String(validate=validate.OneOf(WEEKDAYS)),
        values=fields.List(WindowField()),
        required=True,
    )
    holidays = fields.List(fields.Date(), load_default=list)
    country = fields.String(load_default=None, allow_none=True, validate=validate.Length(2, 3))
    subdivision = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 10))
    targets = fields.Dict(
        keys=fields.String(validate=validate.OneOf(PRIORITIES)),
        values=fields.Nested(TargetSchema),
        required=True,
    )
    warning_ratio = fields.Float(load_default=0.75, validate=validate.Range(min=0.01, max=0.99))
    escalations = fields.List(
        fields.Nested(EscalationSchema), load_default=list, validate=validate.Length(max=20)
    )

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
                data["country"],
                data["subdivision"],
            )
            match = data.get("match") or {}
            return SlaPolicy(
                calendar,
                {
                    priority: (
                        target["first_response_minutes"],
                        target["resolution_minutes"],
                        target["next_response_minutes"],
                    )
                    for priority, target in data["targets"].items()
                },
                data["warning_ratio"],
                data.get("id", DEFAULT_POLICY_ID),
                SlaMatch(
                    frozenset(match.get("type", ())),
                    frozenset(match.get("priority", ())),
                    frozenset(str(g) for g in match.get("group_id", ())),
                    dict(match.get("fields", {})),
                ),
                tuple(
                    Escalation(
                        e["on"],
                        e["action"],
                        e["target"],
                        str(e["group_id"]) if e["group_id"] else None,
                    )
                    for e in data["escalations"]
                ),
            )
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class ConditionalPolicySchema(SlaPolicySchema):
    """One of the tenant's ordered policies: an id, what it matches, then as the default's."""

    id = fields.String(required=True, validate=validate.Regexp(POLICY_ID))
    match = fields.Nested(MatchSchema, load_default=dict)


class OnePolicySchema(SlaPolicySchema):
    """PUT /v1/sla/policies/{id}: the policy without its id (the path names it)."""

    match = fields.Nested(MatchSchema, load_default=dict)


class PositionQuerySchema(Schema):
    """Where PUT /v1/sla/policies/{id} puts a policy it adds (0: first); default: the end.
    A policy that exists moves there when given, else keeps its place."""

    class Meta:
        unknown = EXCLUDE

    position = fields.Integer(validate=validate.Range(min=0, max=POLICIES_MAX))


class SlaPoliciesSchema(Schema):
    """PUT /v1/sla/policies: the ordered conditional policies (the first match applies)."""

    policies = fields.List(
        fields.Nested(ConditionalPolicySchema),
        required=True,
        validate=validate.Length(max=POLICIES_MAX),
    )

    @post_load
    def ordered(self, data, **kwargs):
        ids = [policy.policy_id for policy in data["policies"]]
        if len(set(ids)) != len(ids):
            raise ValidationError("policy ids must be unique", "policies")
        if DEFAULT_POLICY_ID in ids:
            raise ValidationError(f"{DEFAULT_POLICY_ID!r} names the default policy", "policies")
        return tuple(data["policies"])


def policy_document(policy):
    """The JSON document of an SlaPolicy (what SlaPolicySchema, or for a conditional policy
    ConditionalPolicySchema, loads)."""
    calendar = policy.calendar
    document = {
        "timezone": calendar.timezone,
        "hours": {
            WEEKDAYS[day]: [[_hhmm(start), _hhmm(end)] for start, end in windows]
            for day, windows in sorted(calendar.hours.items())
            if windows
        },
        "holidays": sorted(day.isoformat() for day in calendar.holidays),
        "country": calendar.country,
        "subdivision": calendar.subdivision,
        "targets": {
            priority: {
                "first_response_minutes": minutes[0],
                "resolution_minutes": minutes[1],
                "next_response_minutes": minutes[2] if len(minutes) > 2 else None,
            }
            for priority, minutes in policy.targets.items()
        },
        "warning_ratio": policy.warning_ratio,
        "escalations": [
            {"on": e.on, "action": e.action, "target": e.target, "group_id": e.group_id}
            for e in policy.escalations
        ],
    }
    if policy.policy_id == DEFAULT_POLICY_ID:
        return document
    match = policy.match
    return {
        "id": policy.policy_id,
        "match": {
            "type": sorted(match.types),
            "priority": sorted(match.priorities),
            "group_id": sorted(match.group_ids),
            "fields": {key: list(values) for key, values in sorted(match.fields.items())},
        },
        **document,
    }


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def load_policy_document(document) -> SlaPolicy:
    """The default policy of its stored document (an older one lacks the newer keys)."""
    return SlaPolicySchema().load(document)


def load_policies_documents(documents) -> tuple[SlaPolicy, ...]:
    return SlaPoliciesSchema().load({"policies": documents})


def load_policies(default_document, documents) -> SlaPolicies:
    """A tenant's SlaPolicies from its stored documents (None: the built-in default)."""
    default = load_policy_document(default_document) if default_document else default_policy()
    return SlaPolicies(default, load_policies_documents(documents or []))


# change approvals


class ApprovalStageSchema(Schema):
    """One stage: exactly one of approver_group_id (a group of ticketing's groups),
    approver_role or approver_ids; at most as many approvals required as approvers named."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    approvals_required = fields.Integer(load_default=1, strict=True)
    approver_group_id = fields.UUID(load_default=None, allow_none=True)
    approver_role = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(APPROVER_ROLES)
    )
    approver_ids = fields.List(fields.UUID(), load_default=list)


class TypeApprovalSchema(Schema):
    stages = fields.List(fields.Nested(ApprovalStageSchema), required=True)


class ApprovalPoliciesSchema(Schema):
    """The document of GET/PUT /v1/approval-policies: the stages per ticket type; a type left
    out needs no approval."""

    incident = fields.Nested(TypeApprovalSchema)
    service_request = fields.Nested(TypeApprovalSchema)
    problem = fields.Nested(TypeApprovalSchema)
    change = fields.Nested(TypeApprovalSchema)


class ApprovalSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    comment = fields.String(
        load_default="", allow_none=True, validate=validate.Length(max=TEXT_MAX)
    )


def approval_stage_input(stage):
    """A loaded stage as the domain's clean_stages takes it (ids as text)."""
    return {
        "name": stage["name"],
        "approvals_required": stage["approvals_required"],
        "approver_group_id": str(stage["approver_group_id"])
        if stage["approver_group_id"]
        else None,
        "approver_role": stage["approver_role"],
        "approver_ids": [str(i) for i in stage["approver_ids"]],
    }


# reports, and a ticket as it was


class InstantField(fields.String):
    """An ISO 8601 instant with its offset (`Z`, `+02:00`), or a date (its midnight, UTC).

    A `+` left unencoded in a query string arrives as a space: read back as the `+` it was."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > 40:
            raise ValidationError("not an ISO 8601 instant")
        text = _UNENCODED_PLUS.sub(r"+\1", value.strip())
        try:
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None and not _HAS_TIME.search(text):
                parsed = parsed.replace(tzinfo=UTC)
            if parsed.tzinfo is None:
                raise ValidationError("an instant needs its UTC offset (Z or +hh:mm)")
            parsed = parsed.astimezone(UTC)
        except (ValueError, OverflowError) as exc:
            raise ValidationError("not an ISO 8601 instant (e.g. 2025-03-12T09:00:00Z)") from exc
        if not EARLIEST <= parsed <= LATEST:
            raise ValidationError("an instant between 1970 and 9999")
        return parsed


_UNENCODED_PLUS = re.compile(r" (\d\d(?::?\d\d)?)$")
_HAS_TIME = re.compile(r"[Tt ]")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
# a report's window when the query names no `from`
DEFAULT_REPORT_DAYS = 30


class ReportQuerySchema(Schema):
    """GET /v1/reports/{report}: the window [from, to) (default: the 30 days up to now), how to
    group, and the format (else the Accept header's: JSON, CSV or NDJSON)."""

    class Meta:
        unknown = EXCLUDE

    start = InstantField(data_key="from", metadata={"description": "inclusive; default to - 30d"})
    end = InstantField(data_key="to", metadata={"description": "exclusive; default now"})
    group_by = fields.String(validate=validate.OneOf(sorted(reports.GROUP_BY)))
    format = fields.String(validate=validate.OneOf(sorted(reports.FORMATS)))


class TicketQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    as_of = InstantField(metadata={"description": "show the ticket as it was at this instant"})


class ReportSchema(Schema):
    """A report: one row per group (`group_by`), and the total over every ticket."""

    # CSV and NDJSON: a line per group, then the total's (`scope`: group or total)
    other_media_types = {
        "text/csv": {"schema": {"type": "string"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    }

    report = fields.String(validate=validate.OneOf(reports.REPORTS))
    start = fields.String(data_key="from")
    end = fields.String(data_key="to")
    group_by = fields.String(allow_none=True)
    rows = fields.List(fields.Dict())
    total = fields.Dict()


def load_query(schema, args):
    """The query string through `schema`; what it refuses is a 422 naming each parameter."""
    try:
        return schema.load(args.to_dict())
    except ValidationError as exc:
        raise InvalidQuery("the query is not valid", errors=exc.messages) from exc


def report_query(args, now):
    """(from, to, group_by, format or None) of a report's query, the window defaulted and
    checked."""
    query = load_query(ReportQuerySchema(), args)
    end = query.get("end") or now
    start = query.get("start") or end - timedelta(days=DEFAULT_REPORT_DAYS)
    if start >= end:
        raise InvalidQuery("the window is empty", errors={"from": ["must be before to"]})
    return start, end, query.get("group_by"), query.get("format")


def report_media_type(requested, accept):
    """The media type a report answers in: `format=` first, else the best the Accept header
    names (JSON when it names none of them)."""
    if requested:
        return reports.FORMATS[requested]
    return accept.best_match(list(reports.FORMATS.values()), default="application/json")
