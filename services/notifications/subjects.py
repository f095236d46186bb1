"""The notifications service as a privacy participant: export and purge one subject (their
address, preferences, notices and mail)."""

from services.notifications import store
from services.notifications.schemas import NoticeSchema


def purge(db, cipher, tenant_id, subject_id, request_id):
    """Forget the subject's key here, drop their queued mail and delete what is held about
    them; their erasure is recorded so that identity's late events add nothing back."""
    cipher.forget(tenant_id, subject_id)
    conn = db.begin(tenant_id)
    return store.purge_subject(conn, str(tenant_id), subject_id, request_id)


def export(db, cipher, tenant_id, subject_id):
    """Their address (decrypted: ERASED where the key is gone), preferences, notices and
    what became of each mail."""
    conn = db.begin(tenant_id)
    member, preferences, notices = store.subject_data(conn, subject_id)
    email = member and member.get("email")
    states = store.mail_states(conn, subject_id)
    return {
        "email": cipher.open_value(str(tenant_id), "email", email) if email else None,
        "preferences": preferences,
        "notices": [
            {**NoticeSchema().dump(notice), "mail": states.get(str(notice["notice_id"]))}
            for notice in notices
        ],
    }
