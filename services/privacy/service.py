"""The privacy service: nameko entrypoints only; the work lives in its domain modules."""

import base64

from werkzeug.wrappers import Response

from services.privacy import application, policies
from services.privacy import events as _catalogue  # noqa: F401 (declares privacy's event types)
from services.privacy.dependencies import MasterKeys
from services.privacy.keyring import Keyring
from services.privacy.sagas.driver import SagaDriver
from services.privacy.sagas.kinds import OFFICER_ROLES
from services.privacy.sagas.restore import ShredReconciler
from services.privacy.schemas import (
    DownloadQuerySchema,
    HoldSchema,
    PolicySchema,
    RequestSchema,
    SubjectQuery,
)
from services.privacy.settings import PrivacySettings
from shared.auth import Authenticator, require_roles
from shared.envelope import actor_of
from shared.rpc import PERSONAL_DATA_HOLDERS, PRIVACY, rpc
from shared.service import DZDeskService
from shared.settings import Settings
from shared.web import PageQuery, http, json_body, json_response, page_limit


class PrivacyService(DZDeskService):
    name = "privacy"

    master_keys = MasterKeys()
    auth = Authenticator()
    settings = Settings(PrivacySettings)
    sagas = SagaDriver()
    restore = ShredReconciler()

    @rpc(callers=PERSONAL_DATA_HOLDERS)
    def get_subject_key(self, tenant_id, subject_id, create=False):
        """The subject's data key (base64), created on first use; None once shredded."""
        self.restore.require_reconciled()
        keyring = Keyring(self.db.begin(tenant_id), self.master_keys)
        key = keyring.get_key(tenant_id, subject_id, create)
        return base64.b64encode(key).decode() if key else None

    @rpc(callers=PRIVACY)
    def shred_subject_key(self, tenant_id, subject_id, actor):
        """Crypto-shred a subject: every copy of their personal fields becomes unreadable."""
        return application.shred_subject_key(
            self.db, self.master_keys, tenant_id, subject_id, actor
        )

    @rpc(callers={"identity"})
    def request_erasure(self, tenant_id, subject_id, requested_by, roles):
        """DELETE /v1/me (through identity): the same as POST /v1/privacy/requests {erasure}."""
        saga, _ = application.submit(
            self.db,
            self.settings,
            self.master_keys,
            str(tenant_id),
            str(requested_by),
            list(roles),
            "erasure",
            str(subject_id),
        )
        return application.accepted(saga)

    @http("POST", "/v1/privacy/requests", body=RequestSchema, responses={202: None})
    def file_request(self, request):
        principal = self.auth.principal(request)
        body = json_body(request, RequestSchema())
        saga, _ = application.submit(
            self.db,
            self.settings,
            self.master_keys,
            principal.tenant_id,
            principal.user_id,
            principal.roles,
            body["type"],
            body["subject_id"],
            body.get("changes"),
        )
        return json_response(
            application.accepted(saga),
            status=202,
            headers={"Location": f"/v1/privacy/requests/{saga.request_id}"},
        )

    @http("GET", "/v1/privacy/requests", query=(SubjectQuery, PageQuery))
    def list_requests(self, request):
        """?subject=me: every request about the caller, whoever filed it; officers may name
        anyone."""
        principal = self.auth.principal(request)
        subject_id = application.listed_subject(principal, request.args.get("subject"))
        conn = self.db.begin(principal.tenant_id)
        return application.requests_page(
            conn, self.settings, principal, subject_id, page_limit(request), request
        )

    @http("GET", "/v1/privacy/requests/<request_id>")
    def show_request(self, request, request_id):
        principal = self.auth.principal(request)
        conn = self.db.begin(principal.tenant_id)
        return application.show_request(conn, self.settings, principal, request_id)

    @http("GET", "/v1/privacy/requests/<request_id>/export", query=(DownloadQuerySchema,))
    def download_export(self, request, request_id):
        """The subject's bundle; a privacy officer must give ?reason=; each download is an event."""
        principal = self.auth.principal(request)
        saga, content = application.download_export(
            self.db,
            self.settings,
            self.master_keys,
            self.restore,
            principal,
            request_id,
            request.args.to_dict(),
        )
        return Response(
            content,
            mimetype="application/zip",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="dzdesk-export-{saga.request_id}.zip"'
                ),
                "Cache-Control": "no-store",
            },
        )

    @http("POST", "/v1/privacy/holds", body=HoldSchema, responses={201: None})
    def place_hold(self, request):
        principal = self.auth.principal(request)
        require_roles(principal, *OFFICER_ROLES)
        body = json_body(request, HoldSchema())
        return json_response(application.place_hold(self.db, principal, body), status=201)

    @http("DELETE", "/v1/privacy/holds/<hold_id>")
    def release_hold(self, request, hold_id):
        principal = self.auth.principal(request)
        require_roles(principal, *OFFICER_ROLES)
        application.release_hold(self.db, principal, hold_id)
        return Response(status=204)

    @http("POST", "/v1/privacy/policies", body=PolicySchema, responses={201: None})
    def publish_policy(self, request):
        principal = self.auth.principal(request)
        policies.require_platform_admin(principal, self.settings)
        body = json_body(request, PolicySchema())
        return json_response(policies.publish(self.db, body, actor_of(principal)), status=201)

    @http("GET", "/v1/privacy/policies/current")
    def current_policy(self, request):
        principal = self.auth.principal(request)
        return policies.current(self.db.begin(principal.tenant_id), principal.user_id)

    @http("POST", "/v1/privacy/policies/<version>/acceptance")
    def accept_policy(self, request, version):
        principal = self.auth.principal(request)
        self.db.begin(principal.tenant_id)
        body, first = policies.accept(self.db, principal.user_id, version, actor_of(principal))
        return json_response(body, status=201 if first else 200)
