"""The audit service: nameko entrypoints only; the work lives in its domain modules."""

from werkzeug.wrappers import Response

from services.audit import application, store, subjects
from services.audit import events as _catalogue  # noqa: F401 (declares audit's event types)
from services.audit.dependencies import CheckpointSigner, LogReader
from services.audit.ingest import AuditIngest
from services.audit.schemas import NDJSON, EventQuerySchema
from shared.auth import Authenticator, require_roles
from shared.db import Database
from shared.envelope import PLATFORM_TENANT
from shared.rpc import PRIVACY, rpc
from shared.service import DZDeskService
from shared.web import (
    PageQuery,
    decode_cursor,
    encode_cursor,
    http,
    json_response,
    page_limit,
    sequence_number,
)

OFFICER = "compliance_officer"


def _wants_ndjson(request):
    return NDJSON in request.headers.get("Accept", "")


class AuditService(DZDeskService):
    name = "audit"

    auth = Authenticator()
    # the system role reads across tenants (the shredding record), read-only
    system = Database("SYSTEM_DATABASE_URL", max_size=2)
    ingest = AuditIngest()
    signer = CheckpointSigner()
    streams = LogReader()

    def _officer_tenant(self, request):
        """The caller's tenant: compliance officers read their own tenant's log only."""
        principal = self.auth.principal(request)
        require_roles(principal, OFFICER)
        return principal.tenant_id

    # --- privacy's record of shredding, outside privacy's database (read by its restore check) ---
    @rpc(callers=PRIVACY)
    def shredded_subjects(self, after=None, limit=1000):
        """{"subjects": [[tenant id, subject id]], "next": cursor or None}: every subject whose key
        the log saw shredded, in pages across tenants; `after` is the previous page's `next`."""
        return application.shredded_subjects(self.system.begin(PLATFORM_TENANT), after, limit)

    # --- privacy participant: the log holds ciphertext only; shredding made it unreadable ---
    @rpc(callers=PRIVACY)
    def purge_subject(self, tenant_id, subject_id, request_id):
        """Nothing to purge (see subjects.purge_subject)."""
        return subjects.purge_subject(request_id)

    @rpc(callers=PRIVACY)
    def export_subject(self, tenant_id, subject_id):
        """The actions the log records the subject performing."""
        return subjects.export_subject(self.db.begin(tenant_id), subject_id)

    @http("GET", "/v1/audit/events", query=(EventQuerySchema, PageQuery))
    def list_events(self, request):
        tenant_id = self._officer_tenant(request)
        query = EventQuerySchema().load(request.args.to_dict())
        cursor = decode_cursor(request, tenant_id, sequence_number)
        after_seq = cursor if isinstance(cursor, int) else query["after_seq"]
        if _wants_ndjson(request):
            limit = page_limit(request, maximum=10**9) if "limit" in request.args else None
            lines = self.streams.ndjson(tenant_id, query, after_seq, limit)
            return Response(lines, mimetype=NDJSON, direct_passthrough=True)
        limit = page_limit(request, default=100, maximum=1000)
        conn = self.db.begin(tenant_id)
        lines, more, last_seq = application.events_page(conn, tenant_id, after_seq, limit, query)
        next_cursor = store.dumps(encode_cursor(last_seq, request, tenant_id)) if more else "null"
        # the entries are JSON already: the page is joined as text, not dumped again
        body = f'{{"items":[{",".join(lines)}],"next_cursor":{next_cursor}}}'
        return Response(body, mimetype="application/json")

    @http("GET", "/v1/audit/verify")
    def verify_log(self, request):
        tenant_id = self._officer_tenant(request)
        return application.verify_log(self.db.begin(tenant_id), tenant_id).as_dict()

    @http("GET", "/v1/audit/checkpoints/latest")
    def latest_checkpoint(self, request):
        tenant_id = self._officer_tenant(request)
        return application.latest_checkpoint(self.db.begin(tenant_id), tenant_id)

    @http("POST", "/v1/audit/checkpoints", responses={200: None, 201: None})
    def sign_checkpoint(self, request):
        tenant_id = self._officer_tenant(request)
        conn = self.db.begin(tenant_id)
        checkpoint, created = application.sign_head(
            conn, self.signer, tenant_id, self.db.context.get("correlation_id")
        )
        return json_response(
            {"checkpoint": checkpoint, "public_key": self.signer.public_jwk},
            status=201 if created else 200,
        )

    @http("GET", "/v1/audit/keys")
    def signing_keys(self, request):
        """The public keys of every checkpoint signer, as a JWK set (public by design)."""
        conn = self.db.begin(PLATFORM_TENANT)  # the key table is not per tenant
        return {"keys": store.public_jwks(conn)}
