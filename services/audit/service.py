"""The audit service: nameko entrypoints only; the work lives in its domain modules."""

from werkzeug.wrappers import Response

from services.audit import events as _catalogue  # noqa: F401 (declares audit's event types)
from services.audit import store
from services.audit.chain import verify_pages
from services.audit.checkpointing import Checkpointing, sign_head
from services.audit.checkpoints import public_keys_by_id
from services.audit.consumer import AuditIngest
from services.audit.exceptions import EmptyLog
from services.audit.replay import NDJSON
from services.audit.schemas import EventQuerySchema
from services.audit.streaming import LogReader
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
    signer = Checkpointing()
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
        limit = max(1, min(int(limit), 10_000))
        rows = store.shredded_subjects(self.system.begin(PLATFORM_TENANT), after, limit)
        more = len(rows) == limit
        return {
            "subjects": [[tenant, subject] for tenant, subject, _ in rows],
            "next": [rows[-1][0], rows[-1][2]] if more else None,
        }

    # --- privacy participant: the log holds ciphertext only; shredding made it unreadable ---
    @rpc(callers=PRIVACY)
    def purge_subject(self, tenant_id, subject_id, request_id):
        """Nothing to purge: entries are immutable and their personal fields are ciphertext
        under the subject's key, which the erasure has already shredded."""
        return {
            "service": "audit",
            "request_id": request_id,
            "purged": {},
            "note": "immutable log of ciphertext; unreadable after key shredding",
        }

    @rpc(callers=PRIVACY)
    def export_subject(self, tenant_id, subject_id):
        """The actions the log records the subject performing (metadata, in seq order)."""
        conn = self.db.begin(tenant_id)
        return {
            "service": "audit",
            "subject_id": str(subject_id),
            "actions": store.entries_by_actor(conn, subject_id),
        }

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
        rows = store.entries_after(conn, tenant_id, after_seq, limit + 1, query)
        more = len(rows) > limit
        rows = rows[:limit]
        items = ",".join(store.entry_line(tenant_id, row) for row in rows)
        next_cursor = (
            store.dumps(encode_cursor(rows[-1][0], request, tenant_id)) if more else "null"
        )
        return Response(
            f'{{"items":[{items}],"next_cursor":{next_cursor}}}', mimetype="application/json"
        )

    @http("GET", "/v1/audit/verify")
    def verify_log(self, request):
        tenant_id = self._officer_tenant(request)
        conn = self.db.begin(tenant_id)
        keys = public_keys_by_id(store.public_jwks(conn))
        result = verify_pages(
            store.stored_pages(conn, tenant_id),
            store.checkpoints(conn, tenant_id),
            keys,
            tenant_id=tenant_id,
        )
        return result.as_dict()

    @http("GET", "/v1/audit/checkpoints/latest")
    def latest_checkpoint(self, request):
        tenant_id = self._officer_tenant(request)
        conn = self.db.begin(tenant_id)
        checkpoint = store.latest_checkpoint(conn, tenant_id)
        if checkpoint is None:
            raise EmptyLog("no checkpoint has been signed for this tenant yet")
        keys = {jwk["kid"]: jwk for jwk in store.public_jwks(conn)}
        return {"checkpoint": checkpoint, "public_key": keys.get(checkpoint["key_id"])}

    @http("POST", "/v1/audit/checkpoints", responses={200: None, 201: None})
    def sign_checkpoint(self, request):
        tenant_id = self._officer_tenant(request)
        conn = self.db.begin(tenant_id)
        checkpoint, created = sign_head(
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
