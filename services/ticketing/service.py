"""The ticketing service: nameko entrypoints only; the work lives in application.py below them."""

import json
import uuid

from marshmallow import ValidationError
from werkzeug.wrappers import Response

from services.ticketing import (
    attachments,
    exceptions,
    group_schemas,
    imports,
    projections,
    reports,
    schemas,
    subjects,
)
from services.ticketing import events as _catalogue  # noqa: F401 (declares ticketing's event types)
from services.ticketing.application import TicketDesk
from services.ticketing.blobs import Blobs
from services.ticketing.dependencies import Clock, FileScanner, Policies, sla_due
from services.ticketing.domain import AddComment, LinkTicket, Transition
from services.ticketing.envelopes import actor_from_principal, ticket_id_of
from services.ticketing.group_schemas import (
    CreateGroupSchema,
    GroupListQuerySchema,
    GroupSchema,
    QueueQuerySchema,
    RoutingRulesSchema,
    UpdateGroupSchema,
)
from services.ticketing.schemas import (
    ApprovalPoliciesSchema,
    ApprovalSchema,
    AttachmentQuerySchema,
    AttachmentSchema,
    BulkItemSchema,
    BulkSchema,
    CommentSchema,
    CreateTicketSchema,
    FileBodySchema,
    ImportLineSchema,
    LinkSchema,
    ListQuerySchema,
    OnePolicySchema,
    PositionQuerySchema,
    ReportQuerySchema,
    ReportSchema,
    SlaPoliciesSchema,
    SlaPolicySchema,
    TicketFieldChangeSchema,
    TicketFieldSchema,
    TicketQuerySchema,
    TransitionSchema,
    UpdateTicketSchema,
)
from services.ticketing.settings import TicketingSettings
from shared import idempotency
from shared.auth import Authenticator, require_roles
from shared.errors import HttpError, Unprocessable
from shared.eventstore import ConcurrencyError
from shared.keys import SubjectKeys
from shared.messaging import event_handler
from shared.retry import on_conflict
from shared.rpc import PRIVACY, rpc
from shared.service import DZDeskService
from shared.settings import Settings
from shared.web import (
    PageQuery,
    decode_cursor,
    etag,
    http,
    json_body,
    json_response,
    page,
    page_limit,
    problem_from_exception,
    required_if_match,
    time_and_id,
)

STAFF = ("agent", "admin")
# a schema keeps no state between loads, and building one deep-copies its fields
CREATE_BODY = CreateTicketSchema()
BULK_ITEM = BulkItemSchema()


class TicketingService(DZDeskService):
    name = "ticketing"

    auth = Authenticator()
    cipher = SubjectKeys()
    clock = Clock()
    policies = Policies()
    settings = Settings(TicketingSettings)
    blobs = Blobs()
    scanner = FileScanner()

    def desk(self, tenant_id):
        return TicketDesk(self.db, self.cipher, self.clock, tenant_id, self.policies)

    def caller(self, request):
        principal = self.auth.principal(request)
        return principal, actor_from_principal(principal), self.desk(principal.tenant_id)

    def ticket_response(self, desk, ticket_id, actor, status=200, headers=None):
        """The ticket as its read model shows it (in the worker's transaction: after its writes)."""
        row, comments, sla = desk.detail(ticket_id, actor)
        body = schemas.ticket_detail(row, comments, sla)
        return json_response(body, status, {"ETag": etag(row["version"]), **(headers or {})})

    @http("POST", "/v1/tickets", body=CreateTicketSchema, responses={201: None})
    def create_ticket(self, request):
        principal, actor, desk = self.caller(request)
        require_roles(principal, "requester", *STAFF)
        body = json_body(request, CREATE_BODY)
        ticket_id = str(uuid.uuid4())
        earlier = idempotency.claim(
            desk.conn, desk.tenant_id, request, principal.user_id, ticket_id
        )
        if earlier:
            return self.ticket_response(
                desk,
                earlier,
                actor,
                201,
                {"Location": f"/v1/tickets/{earlier}", "Idempotent-Replayed": "true"},
            )
        commands = [
            schemas.open_command(actor, ticket_id, body),
            *schemas.plan_commands(actor, body),
            *desk.approval_commands(actor, None, body["type"]),
        ]
        desk.run(ticket_id, actor, commands, new=True)
        # answered from what the unit just wrote (detail knows the tickets it opened)
        return self.ticket_response(
            desk, ticket_id, actor, 201, {"Location": f"/v1/tickets/{ticket_id}"}
        )

    @http("POST", "/v1/tickets/import", body=ImportLineSchema, responses={200: None, 413: None})
    def import_tickets(self, request):
        """Import historic tickets: NDJSON, one a line; answers NDJSON, one result a line."""
        principal = self.auth.principal(request)
        require_roles(principal, "admin")
        actor = actor_from_principal(principal)
        importer = imports.Importer(
            self.db, self.cipher, self.clock, self.policies, principal.tenant_id, actor
        )
        results = importer.run(imports.read_lines(request))
        return Response(imports.ndjson(results), 200, mimetype=imports.MEDIA_TYPE)

    @http("GET", "/v1/tickets", query=(ListQuerySchema, PageQuery))
    def list_tickets(self, request):
        principal, actor, desk = self.caller(request)
        filters = ListQuerySchema().load(request.args.to_dict())
        limit, after = page_limit(request), decode_cursor(request, desk.tenant_id, time_and_id)
        rows = desk.tickets(filters, limit, after, actor)
        return page(
            [schemas.ticket_summary(row) for row in rows],
            limit,
            lambda item: [item["opened_at"], item["id"]],
            request,
            desk.tenant_id,
        )

    @http("GET", "/v1/tickets/<ticket_id>", query=(TicketQuerySchema,))
    def get_ticket(self, request, ticket_id):
        """The ticket now, or (`as_of`) as its stream shows it at that instant."""
        _, actor, desk = self.caller(request)
        if "as_of" in request.args:
            as_of = schemas.load_query(TicketQuerySchema(), request.args)["as_of"]
            return schemas.ticket_detail(*desk.detail_as_of(ticket_id, actor, as_of))
        return self.ticket_response(desk, ticket_id, actor)

    @http("PATCH", "/v1/tickets/<ticket_id>", body=UpdateTicketSchema)
    def update_ticket(self, request, ticket_id):
        _, actor, desk = self.caller(request)
        changes = json_body(request, UpdateTicketSchema())
        expected = required_if_match(request)
        desk.run(
            ticket_id,
            actor,
            lambda state: [
                *schemas.patch_commands(state, actor, changes),
                *desk.approval_commands(actor, state, changes.get("type")),
            ],
            expected,
        )
        return self.ticket_response(desk, ticket_id, actor)

    @http("POST", "/v1/tickets/<ticket_id>/transitions", body=TransitionSchema)
    def transition_ticket(self, request, ticket_id):
        _, actor, desk = self.caller(request)
        body = json_body(request, TransitionSchema())
        expected = required_if_match(request) if request.headers.get("If-Match") else None
        desk.run(ticket_id, actor, [Transition(actor=actor, **body)], expected)
        return self.ticket_response(desk, ticket_id, actor)

    @http("POST", "/v1/tickets/<ticket_id>/comments", body=CommentSchema, responses={201: None})
    def comment_on_ticket(self, request, ticket_id):
        _, actor, desk = self.caller(request)
        body = json_body(request, CommentSchema())
        comment_id = str(uuid.uuid4())
        state, _ = desk.run(
            ticket_id,
            actor,
            [
                AddComment(
                    actor=actor,
                    comment_id=comment_id,
                    body=body["body"],
                    internal=not body["public"],
                )
            ],
        )
        return json_response(
            schemas.comment_view(desk.comment(state.ticket_id, comment_id)),
            201,
            {
                "Location": f"/v1/tickets/{state.ticket_id}/comments/{comment_id}",
                "ETag": etag(state.version),
            },
        )

    @http("POST", "/v1/tickets/<ticket_id>/links", body=LinkSchema)
    def link_tickets(self, request, ticket_id):
        _, actor, desk = self.caller(request)
        body = json_body(request, LinkSchema())
        desk.link(
            ticket_id,
            actor,
            LinkTicket(actor=actor, kind=body["kind"], other_id=str(body["ticket_id"])),
        )
        return self.ticket_response(desk, ticket_id, actor, 201)

    @http("GET", "/v1/tickets/<ticket_id>/history")
    def ticket_history(self, request, ticket_id):
        _, actor, desk = self.caller(request)
        events, envelopes = desk.timeline(ticket_id, actor)
        return {"items": schemas.history_view(events, envelopes, actor.is_privileged)}

    @http(
        "POST",
        "/v1/tickets/<ticket_id>/attachments",
        body=FileBodySchema,
        query=(AttachmentQuerySchema,),
        responses={201: AttachmentSchema},
    )
    def upload_attachment(self, request, ticket_id):
        """Attach a file (the raw body), named by ?filename= or Content-Disposition."""
        _, actor, desk = self.caller(request)
        comment_id = schemas.attachment_comment(request)
        row = attachments.upload(self, desk, request, ticket_id, actor, comment_id)
        return json_response(
            schemas.attachment_view(row),
            201,
            {"Location": f"/v1/tickets/{row['ticket_id']}/attachments/{row['attachment_id']}"},
        )

    @on_conflict
    def record_attachment(self, tenant_id, ticket_id, actor, command):
        """The uploaded file's event and row, decided again on fresh state after a lost race
        (the body is read once, so the upload itself is never repeated)."""
        return attachments.record(self.desk(tenant_id), ticket_id, actor, command)

    @http("GET", "/v1/tickets/<ticket_id>/attachments")
    def list_attachments(self, request, ticket_id):
        _, actor, desk = self.caller(request)
        return {
            "items": [
                schemas.attachment_view(r) for r in attachments.listed(desk, ticket_id, actor)
            ]
        }

    @http("GET", "/v1/tickets/<ticket_id>/attachments/<attachment_id>")
    def download_attachment(self, request, ticket_id, attachment_id):
        """The file's bytes, as uploaded (refused when the scanner found it infected)."""
        _, actor, desk = self.caller(request)
        row = attachments.visible(desk, ticket_id, attachment_id, actor)
        return attachments.download_response(self.cipher, self.blobs, desk.tenant_id, row)

    @http("DELETE", "/v1/tickets/<ticket_id>/attachments/<attachment_id>", responses={204: None})
    def delete_attachment(self, request, ticket_id, attachment_id):
        """Remove a file: its uploader, an agent or an admin."""
        _, actor, desk = self.caller(request)
        attachments.remove(self, desk, ticket_id, attachment_id, actor)
        return Response(status=204)

    @http("POST", "/v1/tickets/bulk", body=schemas.BulkDocumentSchema, responses={207: None})
    def bulk_tickets(self, request):
        """Up to 100 items, each one command on one ticket in a savepoint of its own: 207 with
        each item's status and problem; one failing item leaves the others be."""
        principal, actor, desk = self.caller(request)
        require_roles(principal, *STAFF)
        items = json_body(request, BulkSchema())["items"]
        if len(items) > schemas.BULK_MAX:
            raise Unprocessable(
                f"at most {schemas.BULK_MAX} items per request", errors={"items": ["too many"]}
            )
        results = []
        for raw in items:
            sent = raw.get("ticket_id")
            try:
                item = BULK_ITEM.load(raw)
                state = desk.run_apart(
                    item["ticket_id"],
                    actor,
                    schemas.bulk_commands(actor, item),
                    expected_version=item.get("version"),
                )
            except (HttpError, ValidationError, ConcurrencyError) as exc:
                problem = json.loads(problem_from_exception(exc).get_data())
                results.append({"ticket_id": sent, "status": problem["status"], "problem": problem})
            else:
                results.append(
                    {"ticket_id": state.ticket_id, "status": 200, "version": state.version}
                )
        return json_response({"items": results}, 207)

    @http("GET", "/v1/ticket-fields")
    def list_ticket_fields(self, request):
        principal, _, desk = self.caller(request)
        require_roles(principal, "requester", *STAFF)
        definitions = desk.field_definitions().values()
        return {"items": [schemas.field_view(d) for d in definitions]}

    @http("POST", "/v1/ticket-fields", body=TicketFieldSchema, responses={201: None})
    def define_ticket_field(self, request):
        principal, actor, desk = self.caller(request)
        require_roles(principal, "admin")
        definition = desk.define_field(actor, json_body(request, TicketFieldSchema()))
        return json_response(
            schemas.field_view(definition),
            201,
            {"Location": f"/v1/ticket-fields/{definition.key}"},
        )

    @http("PATCH", "/v1/ticket-fields/<key>", body=TicketFieldChangeSchema)
    def change_ticket_field(self, request, key):
        principal, actor, desk = self.caller(request)
        require_roles(principal, "admin")
        definition = desk.change_field(actor, key, json_body(request, TicketFieldChangeSchema()))
        return schemas.field_view(definition)

    @http("DELETE", "/v1/ticket-fields/<key>", responses={204: None})
    def remove_ticket_field(self, request, key):
        principal, actor, desk = self.caller(request)
        require_roles(principal, "admin")
        desk.remove_field(actor, key)
        return Response(status=204)

    @http("GET", "/v1/sla/policy")
    def get_sla_policy(self, request):
        principal, _, desk = self.caller(request)
        require_roles(principal, *STAFF)
        document, version, default = desk.policy_document()
        return json_response({**document, "default": default}, headers={"ETag": etag(version)})

    @http("PUT", "/v1/sla/policy", body=SlaPolicySchema)
    def set_sla_policy(self, request):
        principal, actor, desk = self.caller(request)
        require_roles(principal, "admin")
        document = schemas.policy_document(json_body(request, SlaPolicySchema()))
        expected = required_if_match(request) if request.headers.get("If-Match") else None
        version = desk.set_policy(actor, document, expected)
        return json_response({**document, "default": False}, headers={"ETag": etag(version)})

    @http("GET", "/v1/sla/policies")
    def list_sla_policies(self, request):
        """The ordered conditional SLA policies: the first whose match fits a ticket applies,
        else the default policy (`/v1/sla/policy`)."""
        principal, _, desk = self.caller(request)
        require_roles(principal, *STAFF)
        documents, version = desk.policies_documents()
        return json_response({"items": documents}, headers={"ETag": etag(version)})

    @http("PUT", "/v1/sla/policies", body=SlaPoliciesSchema)
    def set_sla_policies(self, request):
        """Replace the whole ordered list; open tickets' clocks are recomputed."""
        principal, actor, desk = self.caller(request)
        require_roles(principal, "admin")
        policies = json_body(request, SlaPoliciesSchema())
        documents = [schemas.policy_document(policy) for policy in policies]
        expected = required_if_match(request) if request.headers.get("If-Match") else None
        version = desk.set_policies(actor, documents, expected)
        return json_response({"items": documents}, headers={"ETag": etag(version)})

    @http("GET", "/v1/sla/policies/<policy_id>")
    def get_sla_policy_by_id(self, request, policy_id):
        """One policy by id; `default` is the default policy."""
        principal, _, desk = self.caller(request)
        require_roles(principal, *STAFF)
        document, version = desk.policy_by_id(policy_id)
        return json_response(document, headers={"ETag": etag(version)})

    @http(
        "PUT",
        "/v1/sla/policies/<policy_id>",
        body=OnePolicySchema,
        query=(PositionQuerySchema,),
        responses={200: None, 201: None},
    )
    def put_sla_policy_by_id(self, request, policy_id):
        """Replace the policy (in its place, or at `position`), or add it (at `position`,
        default the end: 201). `default` sets the default policy (no match, no position)."""
        principal, actor, desk = self.caller(request)
        require_roles(principal, "admin")
        policy = json_body(request, OnePolicySchema())
        position = PositionQuerySchema().load(request.args.to_dict()).get("position")
        expected = required_if_match(request) if request.headers.get("If-Match") else None
        document, version, added = desk.put_policy_by_id(
            actor, policy_id, policy, position, expected
        )
        return json_response(document, 201 if added else 200, {"ETag": etag(version)})

    @http("DELETE", "/v1/sla/policies/<policy_id>", responses={204: None})
    def delete_sla_policy_by_id(self, request, policy_id):
        """Remove a conditional policy; `default` brings the built-in default policy back."""
        principal, actor, desk = self.caller(request)
        require_roles(principal, "admin")
        expected = required_if_match(request) if request.headers.get("If-Match") else None
        version = desk.delete_policy_by_id(actor, policy_id, expected)
        return Response(status=204, headers={"ETag": etag(version)})

    @http("POST", "/v1/tickets/<ticket_id>/approvals/<stage>", body=ApprovalSchema)
    def record_approval(self, request, ticket_id, stage):
        _, actor, desk = self.caller(request)
        body = json_body(request, ApprovalSchema())
        desk.record_approval(ticket_id, actor, stage, body["decision"], body["comment"])
        return self.ticket_response(desk, ticket_id, actor)

    @http("GET", "/v1/approval-policies")
    def get_approval_policies(self, request):
        principal, _, desk = self.caller(request)
        require_roles(principal, "admin")
        policies, version = desk.approval_policies()
        return json_response(policies, headers={"ETag": etag(version)})

    @http("PUT", "/v1/approval-policies", body=ApprovalPoliciesSchema)
    def set_approval_policies(self, request):
        principal, actor, desk = self.caller(request)
        require_roles(principal, "admin")
        body = json_body(request, ApprovalPoliciesSchema())
        expected = required_if_match(request) if request.headers.get("If-Match") else None
        policies, version = desk.set_approval_policies(
            actor,
            {
                ticket_type: [schemas.approval_stage_input(stage) for stage in policy["stages"]]
                for ticket_type, policy in body.items()
            },
            expected,
        )
        return json_response(policies, headers={"ETag": etag(version)})

    @http(
        "GET",
        "/v1/reports/<report>",
        query=(ReportQuerySchema,),
        path_values={"report": reports.REPORTS},
        responses={200: ReportSchema},
    )
    def get_report(self, request, report):
        """A desk report (sla-compliance, mttr, backlog, first-response) as JSON, CSV or
        NDJSON."""
        principal, _, desk = self.caller(request)
        require_roles(principal, *STAFF)
        if report not in reports.REPORTS:
            raise exceptions.ReportNotFound(f"reports are {', '.join(reports.REPORTS)}")
        start, end, group_by, requested = schemas.report_query(request.args, desk.clock.now())
        document = desk.report(report, start, end, group_by)
        media_type = schemas.report_media_type(requested, request.accept_mimetypes)
        return Response(
            reports.render(document, media_type), mimetype=media_type, headers={"Vary": "Accept"}
        )

    @sla_due
    def check_sla(self, tenant_id, ticket_id):
        """Record the ticket's due SLA warnings and breaches (sla_warning / sla_breached)."""
        self.desk(tenant_id).record_due_sla_alerts(ticket_id)

    @event_handler("ticketing", "status_changed")
    def handle_ticketing_status_changed(self, event):
        """Closing a parent resolves its children (a process manager over our own events)."""
        if event.data.get("to_status") == "closed":
            self.desk(event.tenant_id).resolve_children(ticket_id_of(event.stream_id))

    @event_handler("identity", "user_joined")
    def handle_identity_user_joined(self, event):
        projections.apply_member_event(self.db.begin(event.tenant_id), event)

    @event_handler("identity", "member_roles_changed")
    def handle_identity_member_roles_changed(self, event):
        """A member who is no agent or admin any more leaves their groups and assignments."""
        desk = self.desk(event.tenant_id)
        projections.apply_member_event(desk.conn, event)
        desk.groups().member_changed(event.data["user_id"])

    @event_handler("identity", "member_erased")
    def handle_identity_member_erased(self, event):
        desk = self.desk(event.tenant_id)
        projections.apply_member_event(desk.conn, event)
        desk.groups().member_left(event.data["user_id"], "erased")

    @event_handler("ai", "triage_suggested")
    def handle_ai_triage_suggested(self, event):
        """Opt-in per tenant: a confident suggested category is applied, then routed."""
        self.desk(event.tenant_id).groups().apply_triage(event.data)

    # groups, queues and routing rules

    @http("POST", "/v1/groups", body=CreateGroupSchema, responses={201: GroupSchema})
    def create_group(self, request):
        principal, actor, desk = self.caller(request)
        require_roles(principal, "admin")
        body = json_body(request, CreateGroupSchema())
        group_id = str(uuid.uuid4())
        desk.groups().create(actor, group_id, body)
        return self.group_response(desk, group_id, 201, {"Location": f"/v1/groups/{group_id}"})

    @http("GET", "/v1/groups", query=(GroupListQuerySchema, PageQuery))
    def list_groups(self, request):
        principal, _, desk = self.caller(request)
        require_roles(principal, *STAFF)
        member = GroupListQuerySchema().load(request.args.to_dict()).get("member")
        limit, after = page_limit(request), decode_cursor(request, desk.tenant_id, time_and_id)
        rows = desk.groups().list(limit, after, member and str(member))
        return page(
            [group_schemas.group_view(row) for row in rows],
            limit,
            lambda item: [item["created_at"], item["id"]],
            request,
            desk.tenant_id,
        )

    @http("GET", "/v1/groups/<group_id>", responses={200: GroupSchema})
    def get_group(self, request, group_id):
        principal, _, desk = self.caller(request)
        require_roles(principal, *STAFF)
        return self.group_response(desk, group_id)

    @http("PATCH", "/v1/groups/<group_id>", body=UpdateGroupSchema, responses={200: GroupSchema})
    def update_group(self, request, group_id):
        principal, actor, desk = self.caller(request)
        require_roles(principal, "admin")
        body = json_body(request, UpdateGroupSchema())
        expected = required_if_match(request) if request.headers.get("If-Match") else None
        desk.groups().update(actor, group_id, body, expected)
        return self.group_response(desk, group_id)

    @http("PUT", "/v1/groups/<group_id>/members/<user_id>", responses={200: GroupSchema})
    def add_group_member(self, request, group_id, user_id):
        principal, actor, desk = self.caller(request)
        require_roles(principal, "admin")
        desk.groups().add_member(actor, group_id, user_id)
        return self.group_response(desk, group_id)

    @http("DELETE", "/v1/groups/<group_id>/members/<user_id>", responses={200: GroupSchema})
    def remove_group_member(self, request, group_id, user_id):
        principal, actor, desk = self.caller(request)
        require_roles(principal, "admin")
        desk.groups().remove_member(actor, group_id, user_id)
        return self.group_response(desk, group_id)

    @http("GET", "/v1/groups/<group_id>/queue", query=(QueueQuerySchema, PageQuery))
    def group_queue(self, request, group_id):
        principal, _, desk = self.caller(request)
        require_roles(principal, *STAFF)
        return self.queue_page(request, desk, group_id=group_id)

    @http("GET", "/v1/me/queue", query=(QueueQuerySchema, PageQuery))
    def my_queue(self, request):
        principal, _, desk = self.caller(request)
        require_roles(principal, *STAFF)
        return self.queue_page(request, desk, assignee_id=principal.user_id)

    @http("GET", "/v1/routing-rules", responses={200: RoutingRulesSchema})
    def get_routing_rules(self, request):
        principal, _, desk = self.caller(request)
        require_roles(principal, *STAFF)
        document, version = desk.groups().rules_document()
        return json_response(document, headers={"ETag": etag(version)})

    @http("PUT", "/v1/routing-rules", body=RoutingRulesSchema, responses={200: RoutingRulesSchema})
    def set_routing_rules(self, request):
        principal, actor, desk = self.caller(request)
        require_roles(principal, "admin")
        document = group_schemas.rules_document(json_body(request, RoutingRulesSchema()))
        expected = required_if_match(request) if request.headers.get("If-Match") else None
        version = desk.groups().set_rules(actor, document, expected)
        return json_response(document, headers={"ETag": etag(version)})

    def group_response(self, desk, group_id, status=200, headers=None):
        row = desk.groups().row(group_id)
        body = group_schemas.group_view(row)
        return json_response(body, status, {"ETag": etag(row["version"]), **(headers or {})})

    def queue_page(self, request, desk, group_id=None, assignee_id=None):
        filters = QueueQuerySchema().load(request.args.to_dict())
        limit = page_limit(request)
        after = decode_cursor(request, desk.tenant_id, group_schemas.queue_cursor)
        if group_id is not None:
            rows = desk.groups().queue(group_id, filters, limit, after)
        else:
            rows = desk.groups().my_queue(assignee_id, filters, limit, after)
        body = page(rows, limit, group_schemas.queue_position, request, desk.tenant_id)
        return {**body, "items": [group_schemas.queue_item(row) for row in body["items"]]}

    @rpc(callers={"ticketing"})
    def rebuild_read_model(self, tenant_id):
        """Truncate the tenant's read models and replay every ticket stream into them."""
        return self.desk(tenant_id).rebuild()

    @rpc(callers=PRIVACY)
    def export_subject(self, tenant_id, subject_id):
        return subjects.export(
            self.desk(tenant_id), subject_id, self.blobs, self.settings.ticketing_export_file_bytes
        )

    @rpc(callers=PRIVACY)
    def purge_subject(self, tenant_id, subject_id, request_id):
        return subjects.purge(self.desk(tenant_id), subject_id, request_id, self.blobs)

    @rpc(callers=PRIVACY)
    def rectify_subject(self, tenant_id, subject_id, changes):
        """Ticketing stores no names or emails (only ids), so there is nothing to rectify."""
        return subjects.rectify(subject_id, changes)
