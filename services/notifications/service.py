"""The notifications service: nameko entrypoints only; the work lives in application,
projections, delivery and subjects."""

import uuid

from services.notifications import application, projections, subjects
from services.notifications import events as _catalogue  # noqa: F401 (declares its event types)
from services.notifications.dependencies import MailSender, Tenants
from services.notifications.exceptions import NoticeNotFound
from services.notifications.schemas import (
    NoticePageSchema,
    NoticeSchema,
    NoticesQuery,
    PreferencesSchema,
    ReadSchema,
    SubjectSchema,
)
from services.notifications.settings import NotificationsSettings
from shared.auth import Authenticator
from shared.keys import SubjectKeys
from shared.messaging import event_handler
from shared.rpc import PRIVACY, rpc
from shared.service import DZDeskService
from shared.settings import Settings
from shared.web import decode_cursor, http, json_body, page, page_limit, time_and_id


def _uuid_or_404(value):
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NoticeNotFound() from None


class NotificationsService(DZDeskService):
    name = "notifications"

    auth = Authenticator()
    cipher = SubjectKeys()
    settings = Settings(NotificationsSettings)
    tenants = Tenants()
    sender = MailSender()

    def _caller(self, request):
        principal = self.auth.principal(request)
        return principal, self.db.begin(principal.tenant_id)

    @http("GET", "/v1/me/notifications", query=(NoticesQuery,), responses={200: NoticePageSchema})
    def list_notifications(self, request):
        principal, conn = self._caller(request)
        scope = f"{principal.tenant_id}/{principal.user_id}"
        limit, after = page_limit(request), decode_cursor(request, scope, time_and_id)
        unread = request.args.get("unread", "").lower() in ("1", "true", "yes")
        found = application.notices(conn, principal.user_id, limit, after, unread)
        body = page(
            found,
            limit,
            lambda notice: [notice["created_at"].isoformat(), str(notice["notice_id"])],
            request,
            scope,
        )
        body["items"] = NoticeSchema(many=True).dump(body["items"])
        body["unread"] = application.unread(conn, principal.user_id)
        return body

    @http("POST", "/v1/me/notifications/<notice_id>/read", responses={200: ReadSchema})
    def mark_notification_read(self, request, notice_id):
        principal, conn = self._caller(request)
        return application.mark_read(conn, principal.user_id, _uuid_or_404(notice_id))

    @http("GET", "/v1/me/notifications/preferences", responses={200: PreferencesSchema})
    def get_preferences(self, request):
        principal, conn = self._caller(request)
        return PreferencesSchema().dump(application.preferences_view(conn, principal.user_id))

    @http(
        "PUT",
        "/v1/me/notifications/preferences",
        body=PreferencesSchema,
        responses={200: PreferencesSchema},
    )
    def put_preferences(self, request):
        principal, conn = self._caller(request)
        body = json_body(request, PreferencesSchema())
        view = application.set_preferences(
            conn, principal.tenant_id, principal.user_id, body["preferences"]
        )
        return PreferencesSchema().dump(view)

    @event_handler("ticketing", "#")
    def handle_ticketing_event(self, event):
        application.on_ticketing(self.db.conn, event, self.settings)

    @event_handler("identity", "#")
    def handle_identity_event(self, event):
        projections.apply_identity(self.db.conn, event)

    @event_handler("integrations", "webhook_disabled")
    def handle_integrations_webhook_disabled(self, event):
        application.on_webhook_disabled(self.db.conn, event)

    @event_handler("privacy", "policy_published")
    def handle_privacy_policy_published(self, event):
        application.on_policy_published(self.tenants, event)

    @rpc(callers=PRIVACY)
    def purge_subject(self, tenant_id, subject_id, request_id):
        args = SubjectSchema().load(
            {"tenant_id": tenant_id, "subject_id": subject_id, "request_id": request_id}
        )
        purged = subjects.purge(self.db, self.cipher, args["tenant_id"], subject_id, request_id)
        return {"service": self.name, "request_id": request_id, "purged": purged}

    @rpc(callers=PRIVACY)
    def export_subject(self, tenant_id, subject_id):
        args = SubjectSchema().load({"tenant_id": tenant_id, "subject_id": subject_id})
        return {
            "service": self.name,
            "subject_id": subject_id,
            **subjects.export(self.db, self.cipher, args["tenant_id"], subject_id),
        }
