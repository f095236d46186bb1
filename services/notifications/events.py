"""The notifications service's event types: what became of each mail (ids and labels only)."""

from shared.classified import EventData, Id, Slug, register

P = "notifications."
KINDS = (
    "ticket_status",
    "ticket_comment",
    "ticket_assigned",
    "ticket_sla",
    "group_queue",
    "group_sla",
    "webhook_disabled",
    "privacy_policy",
)


class MailSent(EventData):
    notice_id, recipient_id = Id(), Id()
    kind = Slug(*KINDS)


class MailDropped(EventData):
    notice_id, recipient_id = Id(), Id()
    kind = Slug(*KINDS)
    reason = Slug("erased", "no_address", "failed")


register(P + "mail_sent", MailSent)
register(P + "mail_dropped", MailDropped)
