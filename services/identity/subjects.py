"""Identity as a privacy participant: export, purge and rectify a data subject (a user)."""

from datetime import date, datetime

from services.identity import application, domain, projections, sessions, store
from services.identity.schemas import RectifySchema
from shared.auth import is_service_account_id
from shared.envelope import system_actor

SERVICE = "identity"
# Service accounts hold no personal data and are nobody's data subject (privacy refuses their
# requests): an export or erasure pointed at one finds nothing, and never touches the account.


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def export_subject(ctx, tenant_id, subject_id) -> dict:
    """Everything identity holds about the user, personal fields decrypted."""
    if is_service_account_id(subject_id):
        return {
            "service": SERVICE,
            "tenant_id": str(tenant_id),
            "subject_id": str(subject_id),
            "profile": None,
            "external_identity": None,
            "sessions": [],
            "events": [],
        }
    conn = ctx.db.begin(tenant_id)
    user = store.get_user(conn, subject_id)
    events = []
    for envelope in store.subject_events(conn, subject_id):
        opened = ctx.cipher.open(tenant_id, envelope.get("pii"))
        events.append(
            {
                "event_type": envelope["event_type"],
                "occurred_at": envelope["occurred_at"],
                "data": envelope["data"],
                "personal_data": opened,
            }
        )
    provider = store.linked_provider(conn, subject_id) if user else None
    return _plain(
        {
            "service": SERVICE,
            "tenant_id": str(tenant_id),
            "subject_id": str(subject_id),
            "profile": user,
            "external_identity": {"provider": provider} if provider else None,
            "sessions": sessions.list_for(conn, subject_id) if user else [],
            "events": events,
        }
    )


def purge_subject(ctx, tenant_id, subject_id, request_id) -> dict:
    """Shred the user's subject key, remove their derived plaintext and access; idempotent (a
    repeat purges nothing)."""
    if is_service_account_id(subject_id):
        return _purged_nothing(request_id)
    ctx.cipher.forget(tenant_id, subject_id)
    conn = ctx.db.begin(tenant_id)
    if store.get_user(conn, subject_id) is None:
        return _purged_nothing(request_id)
    subject_id = str(subject_id)
    members = store.lock_members(conn)
    member = application.load_member(ctx.db, subject_id)
    # refused (409), not half-done: the saga tries again and succeeds once another admin exists
    decided = application.decide(
        member, domain.EraseMember(user_id=subject_id, request_id=request_id), members
    )
    actor = system_actor("privacy-erasure")
    revoked = sessions.revoke_all(conn, subject_id, sessions.ERASURE, ctx.now)
    for session_id in revoked:
        stream = store.session_stream(session_id)
        ctx.db.append_next(
            stream,
            [
                ctx.db.new_event(
                    application.SESSION_REVOKED,
                    stream,
                    {"user_id": subject_id, "session_id": session_id, "reason": sessions.ERASURE},
                    actor=actor,
                )
            ],
        )
    application.record(ctx, subject_id, member.version if member else 0, decided, actor)
    if decided and not set(members) - {subject_id}:
        store.release_organization(conn)  # nobody left: no later sign-in inherits the tenant
    return {
        "service": SERVICE,
        "request_id": request_id,
        "purged": {
            "profile": store.erase_profile(conn, subject_id),
            "sessions": len(revoked),
            "external_identities": store.unlink_accounts(conn, subject_id),
            "memberships": len(decided),
        },
    }


def _purged_nothing(request_id) -> dict:
    return {
        "service": SERVICE,
        "request_id": request_id,
        "purged": {"profile": 0, "sessions": 0, "external_identities": 0, "memberships": 0},
    }


def rectify_subject(ctx, tenant_id, subject_id, changes) -> dict:
    """Corrected name and/or email: a new sealed event, then the read model."""
    changes = {
        key: value
        for key, value in RectifySchema().load(changes or {}).items()
        if value is not None
    }
    if is_service_account_id(subject_id):
        return {"service": SERVICE, "subject_id": str(subject_id), "rectified": []}
    conn = ctx.db.begin(tenant_id)
    user = store.get_user(conn, subject_id)
    if user is None or user["erased_at"] is not None or not changes:
        return {"service": SERVICE, "subject_id": str(subject_id), "rectified": []}
    subject_id = str(subject_id)
    stream = store.user_stream(subject_id)
    event = ctx.db.new_event(
        projections.PROFILE_RECTIFIED,
        stream,
        {"user_id": subject_id, "fields": sorted(changes)},
        actor=system_actor("privacy-rectification"),
        pii=ctx.cipher.seal(
            tenant_id, {field: (subject_id, value) for field, value in changes.items()}
        ),
    )
    version = ctx.db.append_next(stream, [event])
    projections.project(conn, event.with_version(version), changes)
    return {"service": SERVICE, "subject_id": subject_id, "rectified": sorted(changes)}


def users_of(ctx, tenant_id, user_ids=None) -> list[dict]:
    """Members of the tenant for other services: [{id, name, email, roles}]."""
    conn = ctx.db.begin(tenant_id)
    found = store.list_users(conn) if user_ids is None else store.get_users(conn, user_ids)
    return [store.public_user(user) for user in found]
