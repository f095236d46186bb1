"""What a tenant model learns from one ticket, and how a stored ticket row becomes it."""

from dataclasses import dataclass

from shared.crypto import ERASED


@dataclass(frozen=True)
class TicketDoc:
    """What the models learn from one ticket; ``subject_ids`` are the data subjects it is by or
    about."""

    ticket_id: str
    subject_ids: frozenset[str]
    text: str
    category: str | None = None
    priority: str | None = None
    resolution: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "subject_ids", frozenset(self.subject_ids))


def ticket_text(title, description):
    return f"{title}\n{description or ''}"


def document(cipher, tenant_id, row):
    """The TicketDoc a stored ticket teaches, or None (not opened yet, or its text erased)."""
    if not row["ticket_id"] or not row["requester_id"] or row["title"] is None:
        return None
    title = cipher.open_value(tenant_id, "title", row["title"])
    description = (
        cipher.open_value(tenant_id, "description", row["description"])
        if row["description"]
        else ""
    )
    if ERASED in (title, description):
        return None
    resolution = (
        cipher.open_value(tenant_id, "note", row["resolution"]) if row["resolution"] else None
    )
    subjects = {row["requester_id"]}
    if resolution is not None and resolution != ERASED:
        subjects.add(row["resolution"]["s"])
    else:
        resolution = None
    return TicketDoc(
        row["ticket_id"],
        frozenset(subjects),
        ticket_text(title, description),
        row["category"],
        row["priority"],
        resolution,
    )
