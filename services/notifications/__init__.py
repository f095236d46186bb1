"""The notifications service: mail over SMTP and the in-platform list of notices, kept from
ticketing, identity, integrations and privacy events.

service.py       nameko entrypoints only: authenticate, parse, call the work below, respond
application.py   who gets what (notices of an event, preferences), the in-platform list
projections.py   what is kept from identity and ticketing events (members with their sealed
                 email, who is on each ticket with its sealed title)
delivery.py      the mail outbox, one notice at a time: open the address, render, send, record
mail.py          rendering from templates/ (plain text and HTML), the SMTP relay
subjects.py      the privacy participant: export and purge one subject
store.py         SQL
schemas.py       marshmallow: API bodies, what the API shows, RPC arguments
settings.py      NotificationsSettings: SMTP_* and NOTIFICATIONS_* keys, read once
dependencies.py  nameko providers: every tenant's transactions, the mail sender loop
events.py        notifications' event types (mail_sent, mail_dropped) and their fields' classes
exceptions.py    NotificationsError and its subclasses, each with its HTTP status
templates/       one plain-text and one HTML template per kind of notice
migrations/      numbered SQL files
"""
