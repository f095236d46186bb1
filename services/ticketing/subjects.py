"""Ticketing as a privacy participant: export, purge and rectify one data subject."""

import json

from services.ticketing import attachments, store
from services.ticketing.domain import replay
from services.ticketing.envelopes import stream_id
from services.ticketing.sla import sla_history

SERVICE = "ticketing"


def export(desk, subject_id, blobs, file_budget):
    """What the read models hold about the subject: tickets they requested (with their
    personal and text custom field values), comments they wrote, files they uploaded (their
    content inline, base64, up to `file_budget` bytes in all; JSON-safe: instants and ids as
    text)."""
    tickets, comments = store.subject_data(desk.conn, str(subject_id))
    files = attachments.export_files(
        desk.cipher,
        blobs,
        desk.tenant_id,
        store.attachments_by(desk.conn, str(subject_id)),
        file_budget,
    )
    return json.loads(
        json.dumps(
            {
                "service": SERVICE,
                "tickets_requested": tickets,
                "comments_written": comments,
                "files_uploaded": files,
            },
            default=str,
        )
    )


def purge(desk, subject_id, request_id, blobs):
    """Drop the subject's key from the cache (privacy has shredded it), delete their files'
    blobs and rows, re-project their tickets from events, then overwrite what is still
    readable. An erased agent leaves their groups and their open assignments are released
    (system events, no personal data)."""
    desk.cipher.forget(desk.tenant_id, subject_id)
    released = desk.groups().member_left(str(subject_id), "erased")
    touched = store.tickets_touching(desk.conn, str(subject_id))
    files = attachments.purge_files(blobs, desk.tenant_id, desk.conn, str(subject_id))
    for ticket_id in touched:
        events = desk.events(ticket_id)
        desk.project(replay(events), sla_history(events))
    # sealed entries of a shredded key are unreadable already; nothing of theirs stays either
    store.drop_snapshots(desk.conn, [stream_id(ticket_id) for ticket_id in touched])
    purged = {
        "tickets_reprojected": len(touched),
        "assignments_released": released,
        "files": files,
        **store.erase_subject_text(desk.conn, str(subject_id)),
        "ticket_fields": store.erase_subject_fields(desk.conn, str(subject_id)),
    }
    return {"service": SERVICE, "request_id": request_id, "purged": purged}


def rectify(subject_id, changes):
    """Ticketing stores no names or emails (only ids), so there is nothing to rectify."""
    return {"service": SERVICE, "subject_id": subject_id, "rectified": {}}
