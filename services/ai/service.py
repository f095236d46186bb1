"""The ai service: nameko entrypoints only; the work lives in application, projections and
subjects."""

from nameko.events import BROADCAST

from services.ai import application, projections, subjects
from services.ai import events as _catalogue  # noqa: F401 (declares ai's event types)
from services.ai.dependencies import Models, TextProvider, directory_users
from services.ai.schemas import (
    ReplySchema,
    SimilarPageSchema,
    SubjectSchema,
    SummarySchema,
    TriageSchema,
)
from services.ai.settings import AiSettings
from shared.auth import Authenticator, require_roles
from shared.keys import SubjectKeys
from shared.messaging import broadcast_handler, event_handler
from shared.rpc import PRIVACY, ServiceRpc, rpc
from shared.service import DZDeskService
from shared.settings import Settings
from shared.web import LimitQuery, http, page_limit

STAFF = ("agent", "admin")


class AiService(DZDeskService):
    name = "ai"

    auth = Authenticator()
    cipher = SubjectKeys()
    settings = Settings(AiSettings)
    models = Models()
    text = TextProvider()
    identity = ServiceRpc("identity")

    def _ticket(self, request, ticket_id):
        """(tenant, connection, ticket) for staff of the ticket's tenant; 403 / 404 otherwise."""
        principal = self.auth.principal(request)
        require_roles(principal, *STAFF)
        conn = self.db.begin(principal.tenant_id)
        return principal.tenant_id, conn, application.ticket(conn, ticket_id)

    def _thread(self, tenant_id, conn, ticket):
        directory = directory_users(self.identity, tenant_id, self.settings.ai_identity_timeout)
        people = application.known_people(conn, self.cipher, tenant_id, directory)
        return application.thread(conn, self.cipher, tenant_id, ticket, people)

    @http("POST", "/v1/ai/tickets/<ticket_id>/triage", query=(LimitQuery,))
    def triage_ticket(self, request, ticket_id):
        tenant_id, conn, ticket = self._ticket(request, ticket_id)
        model = self.models.current(conn, self.cipher, tenant_id)
        text = application.text_of(self.cipher, tenant_id, ticket)
        return TriageSchema().dump(
            application.triage(model, ticket_id, text, k=page_limit(request, 5, 50))
        )

    @http("GET", "/v1/ai/tickets/<ticket_id>/similar", query=(LimitQuery,))
    def similar_tickets(self, request, ticket_id):
        tenant_id, conn, ticket = self._ticket(request, ticket_id)
        model = self.models.current(conn, self.cipher, tenant_id)
        text = application.text_of(self.cipher, tenant_id, ticket)
        items = application.similar(model, ticket_id, text, k=page_limit(request, 5, 50))
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
        projections.apply_ticketing(self.db.conn, self.cipher, event)
        if event.name == "ticket_opened" and self.settings.ai_auto_triage:
            application.suggest_triage(self.db, self.models, self.cipher, event)

    @event_handler("identity", "#")
    def handle_identity_event(self, event):
        projections.remember_people(self.db.conn, event)

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
        purged = subjects.purge(
            self.db, self.cipher, self.models, args["tenant_id"], subject_id, request_id
        )
        return {"service": self.name, "request_id": request_id, "purged": purged}

    @rpc(callers=PRIVACY)
    def export_subject(self, tenant_id, subject_id):
        args = SubjectSchema().load({"tenant_id": tenant_id, "subject_id": subject_id})
        return {
            "service": self.name,
            "subject_id": subject_id,
            **subjects.export(self.db, self.cipher, args["tenant_id"], subject_id),
        }
