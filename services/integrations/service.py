"""The integrations service: nameko entrypoints only; the work lives in the modules below."""

from werkzeug.wrappers import Response

from services.integrations import application, feed, payloads, projections, store
from services.integrations import events as _catalogue  # noqa: F401 (declares its event types)
from services.integrations.dependencies import Dispatcher, Secrets
from services.integrations.schemas import (
    DeliveryPageSchema,
    DeliverySchema,
    EventTypesSchema,
    FeedPageSchema,
    FeedQuery,
    PingSchema,
    WebhookCreatedSchema,
    WebhookCreateSchema,
    WebhookPageSchema,
    WebhookPatchSchema,
    WebhookSchema,
    feed_query,
    show_delivery,
)
from services.integrations.settings import IntegrationsSettings
from services.integrations.urls import Allowance
from shared.auth import Authenticator, require_roles
from shared.messaging import event_handler
from shared.service import DZDeskService
from shared.settings import Settings
from shared.web import (
    PageQuery,
    decode_cursor,
    encode_cursor,
    http,
    json_body,
    json_response,
    page,
    page_limit,
    time_and_id,
)

ADMINS = ("admin",)
FEED_READERS = ("admin", "agent")
NDJSON = "application/x-ndjson"


def _listed(row):
    return [row["created_at"].isoformat(), row["id"]]


class IntegrationsService(DZDeskService):
    name = "integrations"

    auth = Authenticator()
    settings = Settings(IntegrationsSettings)
    secrets = Secrets()
    dispatcher = Dispatcher()

    def _admin(self, request):
        principal = self.auth.principal(request)
        require_roles(principal, *ADMINS)
        return principal

    @property
    def _allowance(self):
        return Allowance(self.settings.integrations_allowed_hosts)

    @http(
        "POST",
        "/v1/webhooks",
        body=WebhookCreateSchema,
        responses={201: WebhookCreatedSchema},
    )
    def create_webhook(self, request):
        """Subscribe an https endpoint to events; the answer holds its secret, shown once."""
        principal = self._admin(request)
        body = json_body(request, WebhookCreateSchema())
        created = application.create_webhook(
            self.db, self.secrets, self._allowance, principal, body
        )
        return json_response(WebhookCreatedSchema().dump(created), status=201)

    @http("GET", "/v1/webhooks", query=(PageQuery,), responses={200: WebhookPageSchema})
    def list_webhooks(self, request):
        """The tenant's webhooks."""
        principal = self._admin(request)
        after = decode_cursor(request, principal.tenant_id, time_and_id)
        limit = page_limit(request)
        rows = store.webhooks_page(self.db.begin(principal.tenant_id), after, limit + 1)
        body = page(rows, limit, _listed, request, principal.tenant_id)
        return WebhookPageSchema().dump(body)

    @http("GET", "/v1/webhooks/event-types", responses={200: EventTypesSchema})
    def list_event_types(self, request):
        """The event types a webhook can subscribe to (and `<service>.*`, `*`)."""
        self._admin(request)
        return {"items": payloads.event_types()}

    @http("GET", "/v1/webhooks/<webhook_id>", responses={200: WebhookSchema})
    def get_webhook(self, request, webhook_id):
        """One webhook (never its secret)."""
        principal = self._admin(request)
        return WebhookSchema().dump(application.webhook(self.db, principal, webhook_id))

    @http(
        "PATCH",
        "/v1/webhooks/<webhook_id>",
        body=WebhookPatchSchema,
        responses={200: WebhookSchema},
    )
    def update_webhook(self, request, webhook_id):
        """Change a webhook's url, events, description, or enable it again."""
        principal = self._admin(request)
        changes = json_body(request, WebhookPatchSchema())
        row = application.update_webhook(self.db, self._allowance, principal, webhook_id, changes)
        return WebhookSchema().dump(row)

    @http("DELETE", "/v1/webhooks/<webhook_id>", responses={204: None})
    def delete_webhook(self, request, webhook_id):
        """Remove a webhook and its deliveries."""
        principal = self._admin(request)
        application.delete_webhook(self.db, principal, webhook_id)
        return Response(status=204)

    @http("POST", "/v1/webhooks/<webhook_id>/test", responses={202: PingSchema})
    def test_webhook(self, request, webhook_id):
        """Send the webhook a `integrations.webhook_pinged` event (delivered as any other)."""
        principal = self._admin(request)
        body = application.ping_webhook(self.db, principal, webhook_id)
        return json_response(PingSchema().dump(body), status=202)

    @http(
        "GET",
        "/v1/webhooks/<webhook_id>/deliveries",
        query=(PageQuery,),
        responses={200: DeliveryPageSchema},
    )
    def list_deliveries(self, request, webhook_id):
        """A webhook's deliveries: status, attempts, response code and duration."""
        principal = self._admin(request)
        found = application.webhook(self.db, principal, webhook_id)
        after = decode_cursor(request, principal.tenant_id, time_and_id)
        limit = page_limit(request)
        rows = store.deliveries_page(self.db.conn, found["id"], after, limit + 1)
        body = page(rows, limit, _listed, request, principal.tenant_id)
        return {"items": [show_delivery(row) for row in body["items"]], **_next(body)}

    @http(
        "GET",
        "/v1/webhooks/<webhook_id>/deliveries/<delivery_id>",
        responses={200: DeliverySchema},
    )
    def get_delivery(self, request, webhook_id, delivery_id):
        """One delivery."""
        principal = self._admin(request)
        return show_delivery(application.delivery(self.db, principal, webhook_id, delivery_id))

    @http(
        "POST",
        "/v1/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver",
        responses={202: DeliverySchema},
    )
    def redeliver(self, request, webhook_id, delivery_id):
        """Deliver the same message (the same webhook-id) again, as a new delivery."""
        principal = self._admin(request)
        row = application.redeliver(self.db, principal, webhook_id, delivery_id)
        return json_response(show_delivery(row), status=202)

    @http("GET", "/v1/events", query=(FeedQuery,), responses={200: FeedPageSchema})
    def list_events(self, request):
        """The tenant's events in order, with the payloads webhooks get; `wait` long-polls and
        `Accept: application/x-ndjson` streams."""
        principal = self.auth.principal(request)
        require_roles(principal, *FEED_READERS)
        tenant_id = principal.tenant_id
        types, wait = feed_query(request.args)
        after = decode_cursor(request, tenant_id, feed.valid_position, param="after")
        limit = page_limit(request, 100, 500)
        wait = min(wait, self.settings.integrations_feed_max_wait)
        every = self.settings.integrations_feed_poll_interval
        pool = self.dispatcher.pool

        def cursor_of(position):
            return encode_cursor(position, request, tenant_id)

        if request.accept_mimetypes.best_match(["application/json", NDJSON]) == NDJSON:
            lines = feed.stream(pool, tenant_id, after, types, wait, every, cursor_of)
            return Response(lines, mimetype=NDJSON)
        if wait:
            body = feed.waited_page(pool, tenant_id, after, types, limit, wait, every, cursor_of)
            return Response(body, mimetype="application/json")
        rows = feed.read(pool, tenant_id, after, types, limit + 1)
        return feed.page(rows, limit, after, cursor_of)

    @event_handler(list(payloads.SOURCES), "#")
    def handle_event(self, event):
        projections.apply(self.db.conn, event)


def _next(body):
    return {"next_cursor": body["next_cursor"]}
