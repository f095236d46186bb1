"""The integrations service: signed webhooks and an event feed for programs behind the gateway.

- service.py       nameko entrypoints only: authenticate, parse, call below, respond
- application.py   the webhook use cases (create, change, delete, test, redeliver) and the
                   outcome of a delivery attempt (retry, fail, disable the endpoint)
- projections.py   what a consumed event becomes: a feed row and one delivery per subscriber
- payloads.py      what integrators see of an event: ids, slugs, instants (from the classes
                   each event type declares), never personal data
- feed.py          the event feed: signed cursors, long polls, NDJSON streams
- delivery.py      one HTTPS attempt: signed, short timeouts, no redirects
- signing.py       Standard Webhooks secrets (sealed at rest) and signatures
- urls.py          where a webhook may point (https, public addresses, the allow-list)
- store.py         SQL
- schemas.py       marshmallow: API bodies and what the API shows
- settings.py      typed settings (the retry schedule, timeouts, the allow-list)
- dependencies.py  the secret box and the dispatcher (due deliveries, per-endpoint limits)
- events.py        this service's event types and the class of each data field
- exceptions.py    one base error and its subclasses with their HTTP status
- migrations/      numbered SQL files

No subjects.py: nothing here is about a person (payloads hold ids, a webhook's url and
description belong to the organization), so the service is no privacy participant.
"""
