"""Ticketing's event types: each data field's class, and the personal fields sealed in `pii`."""

from marshmallow import fields

from services.ticketing.domain import LEVELS, LINK_KINDS, PRIORITIES, STATUSES, TICKET_TYPES
from services.ticketing.domain.approvals import APPROVER_ROLES, DECISIONS, RISKS
from services.ticketing.domain.fields import FIELD_TYPES
from services.ticketing.domain.groups import LEAVE_REASONS
from services.ticketing.domain.lifecycle import PARENT_CLOSED, PENDING_REASONS, REQUESTER_REPLIED
from services.ticketing.domain.model import SCAN_VERDICTS, SLA_TARGETS
from services.ticketing.domain.routing import (
    ASSIGNMENT_REASONS,
    ROUTED_REASONS,
    STRATEGIES,
    TRIGGERS,
)
from shared.classified import Digest, EventData, Id, Ids, Public, Slug, Slugs, Timestamp, register

P = "ticketing."
STATUS_REASONS = (*PENDING_REASONS, REQUESTER_REPLIED, PARENT_CLOSED)


class TicketOpened(EventData):
    ticket_id, requester_id, opened_by = Id(), Id(), Id()
    type = Slug(*TICKET_TYPES)
    category = Slug()
    urgency, impact = Slug(*LEVELS), Slug(*LEVELS)
    priority = Slug(*PRIORITIES)
    critical = fields.Boolean()
    watchers, tags = Ids(), Slugs()
    external_id = Digest()


class TicketUpdated(EventData):
    changed = Slugs("title", "description", "type", "category", data_key="fields")
    type = Slug(*TICKET_TYPES)
    category = Slug()
    rectification = fields.Boolean()
    # a category the AI's triage suggested, applied by the system (domain/routing.py)
    source = Slug("ai_triage")
    confidence = fields.Float()


class PriorityChanged(EventData):
    urgency, impact = Slug(*LEVELS), Slug(*LEVELS)
    priority, previous_priority = Slug(*PRIORITIES), Slug(*PRIORITIES)
    critical = fields.Boolean()


class StatusChanged(EventData):
    from_status, to_status = Slug(*STATUSES), Slug(*STATUSES)
    reason = Slug(*STATUS_REASONS)
    first_response = fields.Boolean()
    parent_id = Id()


class CommentAdded(EventData):
    comment_id = Id()
    internal, first_response = fields.Boolean(), fields.Boolean()


class CommentEdited(EventData):
    comment_id = Id()
    rectification = fields.Boolean()


class TicketAssigned(EventData):
    assignee_id, group_id, previous_assignee_id, previous_group_id = Id(), Id(), Id(), Id()
    # set when no person decided it: routing, or a member who left (domain/routing.py)
    reason = Slug(*ASSIGNMENT_REASONS)


class TicketRouted(EventData):
    rule = fields.Integer()
    group_id, assignee_id = Id(), Id()
    strategy = Slug(*STRATEGIES)
    trigger = Slug(*TRIGGERS)
    reason = Slug(*ROUTED_REASONS)


class GroupCreated(EventData):
    group_id = Id()
    name, description = Public(), Public()


class GroupUpdated(EventData):
    changed = Slugs("name", "description", data_key="fields")
    name, description = Public(), Public()


class GroupMemberChanged(EventData):
    group_id, user_id = Id(), Id()
    reason = Slug(*LEAVE_REASONS)


class RoutingCondition(EventData):
    type = Slug(*TICKET_TYPES)
    category = Slug()
    priority = Slug(*PRIORITIES)
    # custom field key -> the value it must have (the organization's own words, no person's)
    values = fields.Dict(
        keys=Slug(allow_none=False), values=Public(allow_none=False), data_key="fields"
    )


class RoutingTarget(EventData):
    group_id = Id()
    strategy = Slug(*STRATEGIES)


class RoutingRuleDocument(EventData):
    when = fields.Nested(RoutingCondition)
    then = fields.Nested(RoutingTarget)


class AiTriageSetting(EventData):
    enabled = fields.Boolean()
    min_confidence = fields.Float()


class RoutingRulesSet(EventData):
    rules = fields.List(fields.Nested(RoutingRuleDocument))
    ai_triage = fields.Nested(AiTriageSetting)


class WatchersChanged(EventData):
    added, removed = Ids(), Ids()


class TagsChanged(EventData):
    added, removed = Slugs(), Slugs()


class TicketLinked(EventData):
    kind = Slug(*sorted(LINK_KINDS))
    other_id = Id()
    mirrored = fields.Boolean()


class AttachmentAdded(EventData):
    attachment_id, comment_id = Id(), Id()
    internal = fields.Boolean()
    size = fields.Integer()
    content_type = Slug()
    scan = Slug(*SCAN_VERDICTS)


class AttachmentRemoved(EventData):
    attachment_id = Id()


class SlaAlerted(EventData):
    target = Slug(*SLA_TARGETS)
    due_at = Timestamp()
    target_minutes = fields.Integer()
    round = fields.Integer()


class SlaEscalated(EventData):
    policy_id = Slug()
    target = Slug(*SLA_TARGETS)
    level = Slug("warning", "breach")
    action = Slug("notify_group", "reassign", "raise_priority")
    round = fields.Integer()
    reason = Slug()
    target_minutes = fields.Integer()
    due_at = Timestamp()
    group_id = Id()


class FieldValue(EventData):
    """One plain custom field value, under its type's name (text values are always sealed)."""

    number = fields.Float()
    date = Timestamp()
    enum = Slug()
    user = Id()
    bool = fields.Boolean()


class FieldsChanged(EventData):
    set = fields.Dict(keys=Slug(allow_none=False), values=fields.Nested(FieldValue))
    sealed, cleared = Slugs(), Slugs()


class TicketFieldDefined(EventData):
    key = Slug()
    type = Slug(*FIELD_TYPES)
    options = Slugs()
    required_for = Slugs(*TICKET_TYPES)
    personal = fields.Boolean()


class TicketFieldRemoved(EventData):
    key = Slug()


class ChangePlanned(EventData):
    changed = Slugs("planned_start", "planned_end", "risk", data_key="fields")
    planned_start, planned_end = Timestamp(), Timestamp()
    risk = Slug(*RISKS)


class ApprovalStageData(EventData):
    name = Slug()
    approvals_required = fields.Integer()
    approver_group_id = Id()
    approver_role = Slug(*APPROVER_ROLES)
    approver_ids = Ids()


class ApprovalStagesSet(EventData):
    policy_version = fields.Integer()
    stages = fields.List(fields.Nested(ApprovalStageData))


class ApprovalRecorded(EventData):
    stage = Slug()
    decision = Slug(*DECISIONS)
    approver_id = Id()
    approvals = fields.Integer()
    stage_approved, approved = fields.Boolean(), fields.Boolean()


class ApprovalPolicyDocument(EventData):
    stages = fields.List(fields.Nested(ApprovalStageData))


class ApprovalPolicySet(EventData):
    policies = fields.Dict(
        keys=Slug(*TICKET_TYPES, allow_none=False), values=fields.Nested(ApprovalPolicyDocument)
    )


class SlaTarget(EventData):
    first_response_minutes, resolution_minutes = fields.Integer(), fields.Integer()
    next_response_minutes = fields.Integer(allow_none=True)


class SlaEscalationRule(EventData):
    on = Slug("warning", "breach")
    action = Slug("notify_group", "reassign", "raise_priority")
    target = Slug(*SLA_TARGETS)
    group_id = Id()


class SlaMatchDocument(EventData):
    type = Slugs(*TICKET_TYPES)
    priority = Slugs(*PRIORITIES)
    group_id = Ids()
    # custom field key -> the values it may have (the tenant's configuration, not a person's)
    fields = fields.Dict(keys=Slug(allow_none=False), values=fields.List(Public(allow_none=False)))


class SlaPolicyDocument(EventData):
    id = Slug()
    match = fields.Nested(SlaMatchDocument)
    timezone = Slug()
    hours = fields.Dict(
        keys=Slug(allow_none=False), values=fields.List(fields.List(Timestamp(allow_none=False)))
    )
    holidays = fields.List(Timestamp(allow_none=False))
    country, subdivision = Slug(), Slug()
    targets = fields.Dict(keys=Slug(*PRIORITIES, allow_none=False), values=fields.Nested(SlaTarget))
    warning_ratio = fields.Float()
    escalations = fields.List(fields.Nested(SlaEscalationRule))


class SlaPolicySet(EventData):
    policy = fields.Nested(SlaPolicyDocument)


class SlaPoliciesSet(EventData):
    policies = fields.List(fields.Nested(SlaPolicyDocument))


register(P + "ticket_opened", TicketOpened, pii=("title", "description"))
register(P + "ticket_updated", TicketUpdated, pii=("title", "description"))
register(P + "priority_changed", PriorityChanged)
register(P + "status_changed", StatusChanged, pii=("note",))
register(P + "comment_added", CommentAdded, pii=("body",))
register(P + "comment_edited", CommentEdited, pii=("body",))
register(P + "ticket_assigned", TicketAssigned)
register(P + "watchers_changed", WatchersChanged)
register(P + "tags_changed", TagsChanged)
register(P + "ticket_linked", TicketLinked)
register(P + "ticket_unlinked", TicketLinked)
register(P + "sla_warning", SlaAlerted)
register(P + "sla_breached", SlaAlerted)
register(P + "sla_escalated", SlaEscalated)
register(P + "sla_policy_set", SlaPolicySet)
register(P + "ticket_routed", TicketRouted)
register(P + "group_created", GroupCreated)
register(P + "group_updated", GroupUpdated)
register(P + "group_member_added", GroupMemberChanged)
register(P + "group_member_removed", GroupMemberChanged)
register(P + "routing_rules_set", RoutingRulesSet)
register(P + "fields_changed", FieldsChanged, pii=("fields",))
register(P + "ticket_field_defined", TicketFieldDefined)
register(P + "ticket_field_removed", TicketFieldRemoved)
register(P + "sla_policies_set", SlaPoliciesSet)
register(P + "attachment_added", AttachmentAdded, pii=("file_name",))
register(P + "attachment_removed", AttachmentRemoved, pii=("file_name",))
register(P + "change_planned", ChangePlanned)
register(P + "approval_stages_set", ApprovalStagesSet)
register(P + "approval_recorded", ApprovalRecorded, pii=("comment",))
register(P + "approval_policy_set", ApprovalPolicySet)
