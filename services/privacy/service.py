"""The privacy service: nameko entrypoints only; the work lives in its domain modules."""

import base64
import uuid

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from services.privacy import events as _catalogue  # noqa: F401 (declares privacy's event types)
from services.privacy import exports, policies, store
from services.privacy.downloads import DownloadQuerySchema, downloads_of, reason_for
from services.privacy.downloads import record as record_download
from services.privacy.driver import SagaDriver
from services.privacy.exceptions import (
    ExportExpired,
    ExportNotReady,
    HoldNotFound,
    RequestNotFound,
)
from services.privacy.keyring import Keyring
from services.privacy.requests import OFFICER_ROLES, load_saga
from services.privacy.restore import ShredReconciler
from services.privacy.schemas import HoldSchema, PolicySchema, RequestSchema, SubjectQuery
from services.privacy.submission import accepted, submit
from services.privacy.views import listed_subject, requests_page, view_for
from shared.auth import Authenticator, require_roles
from shared.crypto import MasterKeyRing
from shared.envelope import utcnow
from shared.rpc import PERSONAL_DATA_HOLDERS, PRIVACY, rpc
from shared.service import DZDeskService
from shared.web import PageQuery, http, json_body, json_response, page_limit


class MasterKeys(DependencyProvider):
    """The versioned master keys (DZDESK_MASTER_KEYS, or DZDESK_MASTER_KEY as version 1); the
    service refuses to start without them."""

    def setup(self):
        self.master_keys = MasterKeyRing.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.master_keys


def actor(principal):
    return {"user_id": principal.user_id, "roles": sorted(principal.roles)}


def request_id_of(value):
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise RequestNotFound("no such request") from None


class PrivacyService(DZDeskService):
    name = "privacy"

    master_keys = MasterKeys()
    auth = Authenticator()
    config = Config()
    sagas = SagaDriver()
    restore = ShredReconciler()

    def keyring(self, tenant_id):
        return Keyring(self.db.begin(tenant_id), self.master_keys)

    @rpc(callers=PERSONAL_DATA_HOLDERS)
    def get_subject_key(self, tenant_id, subject_id, create=False):
        """The subject's data key (base64), created on first use; None once shredded."""
        self.restore.require_reconciled()
        key = self.keyring(tenant_id).get_key(tenant_id, subject_id, create)
        return base64.b64encode(key).decode() if key else None

    @rpc(callers=PRIVACY)
    def shred_subject_key(self, tenant_id, subject_id, actor):
        """Crypto-shred a subject: every copy of their personal fields becomes unreadable."""
        if not self.keyring(tenant_id).shred(tenant_id, subject_id):
            return False
        shredded = self.db.new_event(
            "subject_key_shredded", f"subject-{subject_id}", {"subject_id": subject_id}, actor=actor
        )
        self.db.append(shredded.stream_id, self.db.version(shredded.stream_id), [shredded])
        return True

    @rpc(callers={"identity"})
    def request_erasure(self, tenant_id, subject_id, requested_by, roles):
        """DELETE /v1/me (through identity): the same as POST /v1/privacy/requests {erasure}."""
        saga, _ = submit(
            self.db,
            self.config,
            self.master_keys,
            str(tenant_id),
            str(requested_by),
            list(roles),
            "erasure",
            str(subject_id),
        )
        return accepted(saga)

    @http("POST", "/v1/privacy/requests", body=RequestSchema, responses={202: None})
    def file_request(self, request):
        principal = self.auth.principal(request)
        body = json_body(request, RequestSchema())
        saga, _ = submit(
            self.db,
            self.config,
            self.master_keys,
            principal.tenant_id,
            principal.user_id,
            principal.roles,
            body["type"],
            body["subject_id"],
            body.get("changes"),
        )
        return json_response(
            accepted(saga),
            status=202,
            headers={"Location": f"/v1/privacy/requests/{saga.request_id}"},
        )

    @http("GET", "/v1/privacy/requests", query=(SubjectQuery, PageQuery))
    def list_requests(self, request):
        """?subject=me: every request about the caller, whoever filed it; officers may name anyone."""
        principal = self.auth.principal(request)
        subject_id = listed_subject(principal, request.args.get("subject"))
        conn = self.db.begin(principal.tenant_id)
        return requests_page(conn, self.config, principal, subject_id, page_limit(request), request)

    @http("GET", "/v1/privacy/requests/<request_id>")
    def show_request(self, request, request_id):
        principal = self.auth.principal(request)
        conn = self.db.begin(principal.tenant_id)
        saga = self._visible_saga(conn, principal, request_id_of(request_id))[0]
        return view_for(
            principal,
            saga,
            store.receipts(conn, saga.request_id),
            downloads_of(conn, [saga.request_id])[saga.request_id],
        )

    @http("GET", "/v1/privacy/requests/<request_id>/export", query=(DownloadQuerySchema,))
    def download_export(self, request, request_id):
        """The subject's bundle; a privacy officer must give ?reason=; every download is an event."""
        principal = self.auth.principal(request)
        conn = self.db.begin(principal.tenant_id)
        # locked: the download's event joins the request's stream after the saga's own
        saga, wrapped = self._visible_saga(conn, principal, request_id_of(request_id), lock="wait")
        if saga.KIND != "export":
            raise RequestNotFound("this request has no export")
        reason = reason_for(principal, saga, request.args.to_dict())
        self.restore.require_reconciled()
        bundle = store.load_bundle(conn, saga.request_id)
        if saga.status == "expired" or (
            saga.status == "ready" and (bundle is None or bundle[1] <= utcnow())
        ):
            raise ExportExpired("this export has expired; file a new export request")
        if saga.status != "ready":
            raise ExportNotReady(f"the export is {saga.status}, not ready yet")
        key = exports.request_key(self.master_keys, saga.tenant_id, saga.request_id, wrapped)
        content = exports.open_bundle(key, saga.request_id, bundle[0])
        record_download(self.db, self.master_keys, saga, principal, actor(principal), reason)
        return Response(
            content,
            mimetype="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="dzdesk-export-{saga.request_id}.zip"',
                "Cache-Control": "no-store",
            },
        )

    def _visible_saga(self, conn, principal, request_id, lock=None):
        loaded = store.load_request(conn, request_id, lock=lock)
        if loaded is None:
            raise RequestNotFound("no such request")
        saga = load_saga(loaded[0], self.config)
        allowed = principal.user_id in (saga.requested_by, saga.subject_id) or principal.has_any(
            *OFFICER_ROLES
        )
        if not allowed:
            raise RequestNotFound("no such request")
        return saga, loaded[2]

    @http("POST", "/v1/privacy/holds", body=HoldSchema, responses={201: None})
    def place_hold(self, request):
        principal = self.auth.principal(request)
        require_roles(principal, *OFFICER_ROLES)
        body = json_body(request, HoldSchema())
        self.db.begin(principal.tenant_id)
        hold_id = str(uuid.uuid4())
        placed_at = store.place_hold(
            self.db.conn, hold_id, body["subject_id"], body["reason"], principal.user_id
        )
        placed = self.db.new_event(
            "legal_hold_placed",
            f"hold-{hold_id}",
            {"hold_id": hold_id, "subject_id": body["subject_id"]},
            actor=actor(principal),
        )
        self.db.append(placed.stream_id, 0, [placed])
        return json_response(
            {"id": hold_id, **body, "placed_at": placed_at.isoformat()}, status=201
        )

    @http("DELETE", "/v1/privacy/holds/<hold_id>")
    def release_hold(self, request, hold_id):
        principal = self.auth.principal(request)
        require_roles(principal, *OFFICER_ROLES)
        conn = self.db.begin(principal.tenant_id)
        subject_id = store.release_hold(conn, request_id_of(hold_id), principal.user_id)
        if subject_id is None:
            raise HoldNotFound("no such active legal hold")
        stream = f"hold-{hold_id}"
        released = self.db.new_event(
            "legal_hold_released",
            stream,
            {"hold_id": hold_id, "subject_id": subject_id},
            actor=actor(principal),
        )
        self.db.append(stream, self.db.version(stream), [released])
        return Response(status=204)

    @http("POST", "/v1/privacy/policies", body=PolicySchema, responses={201: None})
    def publish_policy(self, request):
        principal = self.auth.principal(request)
        policies.require_platform_admin(principal, self.config)
        body = json_body(request, PolicySchema())
        return json_response(policies.publish(self.db, body, actor(principal)), status=201)

    @http("GET", "/v1/privacy/policies/current")
    def current_policy(self, request):
        principal = self.auth.principal(request)
        return policies.current(self.db.begin(principal.tenant_id), principal.user_id)

    @http("POST", "/v1/privacy/policies/<version>/acceptance")
    def accept_policy(self, request, version):
        principal = self.auth.principal(request)
        self.db.begin(principal.tenant_id)
        body, first = policies.accept(self.db, principal.user_id, version, actor(principal))
        return json_response(body, status=201 if first else 200)
