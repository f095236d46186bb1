"""The ai service: nameko entrypoints only; the work lives in its domain modules."""

from nameko.dependency_providers import Config
from nameko.events import BROADCAST

from services.ai import assist, ingest, store
from services.ai import events as _catalogue  # noqa: F401 (declares ai's event types)
from services.ai.dependencies import Models, TextProvider, directory_users
from services.ai.exceptions import TicketNotFound
from services.ai.learning import ticket_text
from services.ai.schemas import (
    ReplySchema,
    SimilarPageSchema,
    SubjectSchema,
    SummarySchema,
    TriageSchema,
    TriageSuggestedSchema,
)
from shared.auth import Authenticator, require_roles
from shared.crypto import ERASED
from shared.envelope import system_actor
from shared.keys import SubjectKeys
from shared.messaging import broadcast_handler, event_handler
from shared.rpc import PRIVACY, ServiceRpc, rpc
from shared.service import DZDeskService
from shared.web import LimitQuery, http, page_limit

STAFF = ("agent", "admin")


class AiService(DZDeskService):
    name = "ai"

    auth = Authenticator()
    cipher = SubjectKeys()
    models = Models()
    text = TextProvider()
    identity = ServiceRpc("identity")
    config = Config()

    def _ticket(self, request, ticket_id):
        """(tenant, connection, ticket) for staff of the ticket's tenant; 403 / 404 otherwise."""
        principal = self.auth.principal(request)
        require_roles(principal, *STAFF)
        conn = self.db.begin(principal.tenant_id)
        ticket = store.ticket(conn, ticket_id)
        if ticket is None:
            raise TicketNotFound(ticket_id)
        return principal.tenant_id, conn, ticket

    def _thread(self, tenant_id, conn, ticket):
        timeout = float(self.config.get("AI_IDENTITY_TIMEOUT", 2.0))
        directory = directory_users(self.identity, tenant_id, timeout)
        people = assist.known_people(conn, self.cipher, tenant_id, directory)
        return assist.thread(conn, self.cipher, tenant_id, ticket, people)

    @http("POST", "/v1/ai/tickets/<ticket_id>/triage", query=(LimitQuery,))
    def triage_ticket(self, request, ticket_id):
        tenant_id, conn, ticket = self._ticket(request, ticket_id)
        model = self.models.current(conn, self.cipher, tenant_id)
        text = assist.text_of(self.cipher, tenant_id, ticket)
        return TriageSchema().dump(
            assist.triage(model, ticket_id, text, k=page_limit(request, 5, 50))
        )

    @http("GET", "/v1/ai/tickets/<ticket_id>/similar", query=(LimitQuery,))
    def similar_tickets(self, request, ticket_id):
        tenant_id, conn, ticket = self._ticket(request, ticket_id)
        model = self.models.current(conn, self.cipher, tenant_id)
        text = assist.text_of(self.cipher, tenant_id, ticket)
        items = assist.similar(model, ticket_id, text, k=page_limit(request, 5, 50))
        return SimilarPageSchema().dump({"ticket_id": ticket_id, "items": items})

    @http("POST", "/v1/ai/tickets/<ticket_id>/summary")
    def summarize_ticket(self, request, ticket_id):
        tenant_id, conn, ticket = self._ticket(request, ticket_id)
        thread = self._thread(tenant_id, conn, ticket)
        return SummarySchema().dump(
            {
                "ticket_id": ticket_id,
                "provider": self.text.name,
                "summary": self.text.summarize(thread),
            }
        )

    @http("POST", "/v1/ai/tickets/<ticket_id>/reply")
    def suggest_reply(self, request, ticket_id):
        tenant_id, conn, ticket = self._ticket(request, ticket_id)
        self.models.current(conn, self.cipher, tenant_id)
        thread = self._thread(tenant_id, conn, ticket)
        return ReplySchema().dump(
            {
                "ticket_id": ticket_id,
                "provider": self.text.name,
                "reply": self.text.suggest_reply(thread),
            }
        )

    @event_handler("ticketing", "#")
    def handle_ticketing_event(self, event):
        ingest.apply_ticketing(self.db.conn, self.cipher, event)
        if (
            event.name == "ticket_opened"
            and str(self.config.get("AI_AUTO_TRIAGE", "true")).lower() != "false"
        ):
            self._suggest_triage(event)

    def _suggest_triage(self, event):
        """Publish a suggestion for agents (never applied here); only once the model has learned enough."""
        model = self.models.current(self.db.conn, self.cipher, event.tenant_id)
        opened = self.cipher.open(event.tenant_id, event.pii)
        title, description = (
            opened.get(field, event.data.get(field, "")) for field in ("title", "description")
        )
        suggestion = model.suggest(
            ticket_text(*("" if text == ERASED else text for text in (title, description)))
        )
        if suggestion.basis != "model":
            return
        ticket_id = event.data["ticket_id"]
        data = TriageSuggestedSchema().load(assist.suggestion_event_data(ticket_id, suggestion))
        stream_id = f"triage-{ticket_id}"
        suggested = self.db.new_event("triage_suggested", stream_id, data, actor=system_actor("ai"))
        self.db.append(stream_id, self.db.version(stream_id), [suggested])

    @event_handler("identity", "#")
    def handle_identity_event(self, event):
        ingest.remember_people(self.db.conn, event)

    # Every instance hears a shred (its own queue): each forgets the subject from its models now.
    @broadcast_handler(
        "privacy", "subject_key_shredded", handler_type=BROADCAST, reliable_delivery=False
    )
    def handle_privacy_subject_key_shredded(self, body):
        self.models.forget(body["tenant_id"], body["data"]["subject_id"])

    @rpc(callers=PRIVACY)
    def purge_subject(self, tenant_id, subject_id, request_id):
        args = SubjectSchema().load(
            {"tenant_id": tenant_id, "subject_id": subject_id, "request_id": request_id}
        )
        self.cipher.forget(args["tenant_id"], subject_id)
        conn = self.db.begin(args["tenant_id"])
        purged = store.purge_subject(conn, str(args["tenant_id"]), subject_id, request_id)
        purged["model_tickets"] = len(self.models.forget(tenant_id, subject_id))
        return {"service": self.name, "request_id": request_id, "purged": purged}

    @rpc(callers=PRIVACY)
    def export_subject(self, tenant_id, subject_id):
        args = SubjectSchema().load({"tenant_id": tenant_id, "subject_id": subject_id})
        conn = self.db.begin(args["tenant_id"])
        return {
            "service": self.name,
            "subject_id": subject_id,
            **assist.export(conn, self.cipher, str(args["tenant_id"]), subject_id),
        }
