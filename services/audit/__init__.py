"""Audit: an append-only, hash-chained log of every service's events, signed at checkpoints.

service.py       nameko entrypoints: the log API for compliance officers, privacy's RPCs
application.py   signing chain heads (on demand, scheduled rounds), reading and verifying
ingest.py        the ingest loop: bursts from every `<service>.events` exchange, appended
                 in one transaction, dead-lettered when refused
envelopes.py     the checks a received message passes to enter a chain
chain.py         the hash chain: canonical JSON, entry hashes, building chains
verification.py  verifying a chain and its checkpoints, page by page
checkpoints.py   the signed checkpoint value, its Ed25519 signature and verification
signing.py       the signing key (AUDIT_SIGNING_KEY, or generated and sealed) and its Signer
store.py         SQL
streaming.py     a tenant's log streamed as NDJSON from a pool of its own
subjects.py      the privacy participant: export and purge one subject
settings.py      typed settings (AuditSettings)
dependencies.py  the checkpoint signer and its schedule, the log reader's pool
schemas.py       marshmallow: log queries, the checkpoint_signed event data
events.py        event types and the class of each data field
exceptions.py    errors with their HTTP status
cli.py           the dzdesk-audit command (replay, fetch-checkpoint, verify)
cli_client.py    the command's HTTP client and NDJSON file reading
migrations/      numbered SQL files
"""
