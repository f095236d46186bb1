"""Ticketing: tickets, their comments, links and SLA clocks, event-sourced one stream per ticket.

service.py       nameko entrypoints only: authenticate, parse, call the desk, respond
domain/          pure: decide(state, command, now) -> events; evolve; a handler table
sla/             pure: business calendars, SLA policies (match, escalations), clocks, timers
application.py   the desk: load (from a snapshot), decide, seal, append, project
envelopes.py     domain values <-> stored envelopes: stream ids, actors, sealed fields
imports.py       the bulk import of historic tickets: NDJSON lines, a batch a transaction
snapshots.py     a ticket's folded state as a sealed snapshot (no plaintext personal text)
projections.py   read models kept by events: ticket rows and report facts after appends, members
store.py         SQL: tickets, comments, members, report facts, SLA and approval policies, custom
                 field definitions, due tickets
reports.py       pure: a ticket's report facts, the report arithmetic over them, CSV and NDJSON
schemas.py       API bodies, the commands they stand for, what the API shows per caller
subjects.py      the privacy participant: export, purge, rectify one subject
groups.py        the desk of groups: their streams, members who leave, routing, the queues
group_store.py   SQL: groups, round-robin cursors, routing rules, the queues
group_schemas.py API bodies of groups, routing rules and queues, and what the API shows
attachments.py   files on tickets: body -> type check -> scan -> sealed blob; downloads, purge
blobs.py         Azure Blob Storage: a container per tenant, staged blocks, streamed reads
scanning.py      a file's type from its bytes, refused types, the pluggable scanner hook
settings.py      TicketingSettings: the SLA timer's pace, the SLA clock's offset, attachments
dependencies.py  the Clock provider and the SLA timer entrypoint (sla_due)
events.py        event types and the class of each data field
exceptions.py    HTTP-facing errors, and the mapping of domain errors onto them
migrations/      numbered SQL files
"""
