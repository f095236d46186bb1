"""SQL of the integrations service: webhooks, deliveries and the feed (all under RLS)."""

import uuid

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

_WEBHOOK = (
    "webhook_id::text AS id, url, description, event_types AS events, enabled,"
    " disabled_reason, created_at, updated_at"
)
_DELIVERY = (
    "delivery_id::text AS id, webhook_id::text, message_id::text, event_id::text, event_type,"
    " redelivery_of::text, status, attempts, next_attempt_at, last_attempt_at, response_code,"
    " duration_ms, last_error, created_at, delivered_at"
)


def _rows(conn, query, params=()):
    return conn.cursor(row_factory=dict_row).execute(query, params).fetchall()


def _row(conn, query, params=()):
    return conn.cursor(row_factory=dict_row).execute(query, params).fetchone()


# webhooks


def insert_webhook(conn, tenant_id, webhook_id, url, description, events, sealed_secret):
    return _row(
        conn,
        f"INSERT INTO webhooks (tenant_id, webhook_id, url, description, event_types, secret)"
        f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_WEBHOOK}",
        (tenant_id, webhook_id, url, description, list(events), sealed_secret),
    )


def webhook(conn, webhook_id):
    return _row(conn, f"SELECT {_WEBHOOK} FROM webhooks WHERE webhook_id = %s", (webhook_id,))


def webhooks_page(conn, after, limit):
    if after is None:
        return _rows(
            conn,
            f"SELECT {_WEBHOOK} FROM webhooks ORDER BY created_at, webhook_id LIMIT %s",
            (limit,),
        )
    return _rows(
        conn,
        f"SELECT {_WEBHOOK} FROM webhooks WHERE (created_at, webhook_id) > (%s, %s)"
        " ORDER BY created_at, webhook_id LIMIT %s",
        (*after, limit),
    )


_COLUMNS = {"url": "url", "description": "description", "events": "event_types"}


def update_webhook(conn, webhook_id, changes):
    """Apply `changes` (url, description, events, enabled); the row after, or None."""
    sets, params = ["updated_at = now()"], []
    for key, column in _COLUMNS.items():
        if key in changes:
            sets.append(f"{column} = %s")
            params.append(list(changes[key]) if key == "events" else changes[key])
    if "enabled" in changes:
        sets.append("enabled = %s, disabled_reason = NULL")
        params.append(changes["enabled"])
    return _row(
        conn,
        f"UPDATE webhooks SET {', '.join(sets)} WHERE webhook_id = %s RETURNING {_WEBHOOK}",
        (*params, webhook_id),
    )


def delete_webhook(conn, webhook_id):
    return conn.execute("DELETE FROM webhooks WHERE webhook_id = %s", (webhook_id,)).rowcount == 1


def disable_webhook(conn, webhook_id, reason):
    """True when this call disabled it (it was enabled)."""
    return (
        conn.execute(
            "UPDATE webhooks SET enabled = false, disabled_reason = %s, updated_at = now()"
            " WHERE webhook_id = %s AND enabled",
            (reason, webhook_id),
        ).rowcount
        == 1
    )


def subscribers(conn, patterns):
    """Ids of the enabled webhooks subscribed to any of `patterns`."""
    return [
        row[0]
        for row in conn.execute(
            "SELECT webhook_id::text FROM webhooks WHERE enabled AND event_types && %s",
            (list(patterns),),
        )
    ]


# the feed


def record_feed(conn, tenant_id, payload):
    return (
        conn.execute(
            "INSERT INTO feed (tenant_id, event_id, event_type, occurred_at, payload)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (tenant_id, payload["id"], payload["type"], payload["timestamp"], Jsonb(payload)),
        ).rowcount
        == 1
    )


_FEED = """
SELECT txid::text AS txid, seq, payload FROM feed
WHERE (txid, seq) > (%s::xid8, %s)
  AND txid < pg_snapshot_xmin(pg_current_snapshot())
  AND (%s::text[] IS NULL OR event_type = ANY(%s::text[]))
ORDER BY txid, seq
LIMIT %s
"""


def feed_page(conn, after, types, limit):
    """Feed rows after the (txid, seq) position, committed before every running transaction
    began, so nothing can still appear behind the last one returned."""
    position = after or ("0", 0)
    types = list(types) if types else None
    return _rows(conn, _FEED, (*position, types, types, limit))


# deliveries


def add_deliveries(conn, tenant_id, event_id, event_type, webhook_ids):
    for webhook_id in webhook_ids:
        delivery_id = str(uuid.uuid4())
        conn.execute(
            "INSERT INTO deliveries (tenant_id, delivery_id, webhook_id, message_id, event_id,"
            " event_type) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (tenant_id, delivery_id, webhook_id, delivery_id, event_id, event_type),
        )


def delivery(conn, webhook_id, delivery_id):
    return _row(
        conn,
        f"SELECT {_DELIVERY} FROM deliveries WHERE webhook_id = %s AND delivery_id = %s",
        (webhook_id, delivery_id),
    )


def deliveries_page(conn, webhook_id, after, limit):
    if after is None:
        return _rows(
            conn,
            f"SELECT {_DELIVERY} FROM deliveries WHERE webhook_id = %s"
            " ORDER BY created_at, delivery_id LIMIT %s",
            (webhook_id, limit),
        )
    return _rows(
        conn,
        f"SELECT {_DELIVERY} FROM deliveries WHERE webhook_id = %s"
        " AND (created_at, delivery_id) > (%s, %s) ORDER BY created_at, delivery_id LIMIT %s",
        (webhook_id, *after, limit),
    )


def redeliver(conn, tenant_id, original):
    """A new pending delivery of the same message (the same `webhook-id`)."""
    delivery_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO deliveries (tenant_id, delivery_id, webhook_id, message_id, event_id,"
        " event_type, redelivery_of) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (
            tenant_id,
            delivery_id,
            original["webhook_id"],
            original["message_id"],
            original["event_id"],
            original["event_type"],
            original["id"],
        ),
    )
    return delivery_id


# Cross-tenant (the system role): the oldest due deliveries, at most `per_endpoint` of each
# enabled endpoint, so one endpoint's backlog never fills the batch. An endpoint with a delivery
# waiting for its retry (attempts > 0) is failing: that delivery alone, once due, is its turn
# (`retry` says so).
_DUE = """
SELECT d.tenant_id::text, d.delivery_id::text, d.webhook_id::text,
       r.delivery_id IS NOT NULL AS retry
FROM webhooks w
LEFT JOIN LATERAL (
    SELECT delivery_id, next_attempt_at FROM deliveries
    WHERE tenant_id = w.tenant_id AND webhook_id = w.webhook_id
      AND status = 'pending' AND attempts > 0
    ORDER BY next_attempt_at LIMIT 1
) r ON true
CROSS JOIN LATERAL (
    SELECT w.tenant_id, r.delivery_id, w.webhook_id, r.next_attempt_at
    WHERE r.next_attempt_at <= now()
    UNION ALL
    (SELECT tenant_id, delivery_id, webhook_id, next_attempt_at FROM deliveries
     WHERE r.delivery_id IS NULL AND tenant_id = w.tenant_id AND webhook_id = w.webhook_id
       AND status = 'pending' AND next_attempt_at <= now()
     ORDER BY next_attempt_at LIMIT %s)
) d
WHERE w.enabled
ORDER BY d.next_attempt_at
LIMIT %s
"""


def due(system_conn, per_endpoint, limit):
    return system_conn.execute(_DUE, (per_endpoint, limit)).fetchall()


_RETRYING = """
SELECT delivery_id::text FROM deliveries
WHERE webhook_id = %s AND status = 'pending' AND attempts > 0
ORDER BY next_attempt_at
LIMIT 1
"""

_CLAIM = """
SELECT d.delivery_id::text, d.webhook_id::text, d.message_id::text, d.attempts,
       w.url, w.secret, f.payload
FROM deliveries d
JOIN webhooks w ON w.tenant_id = d.tenant_id AND w.webhook_id = d.webhook_id
JOIN feed f ON f.tenant_id = d.tenant_id AND f.event_id = d.event_id
WHERE d.webhook_id = %s AND (%s::uuid IS NULL OR d.delivery_id = %s::uuid)
  AND d.status = 'pending' AND d.next_attempt_at <= now() AND w.enabled
ORDER BY d.next_attempt_at
LIMIT 1
FOR UPDATE OF d SKIP LOCKED
"""


def claim(conn, webhook_id, lease_seconds, delivery_id=None):
    """The delivery to attempt (`delivery_id`, or the endpoint's oldest due one), leased for
    `lease_seconds`: another thread or process skips it until then, and tries it again after
    a crash. While the endpoint has a delivery waiting for its retry, that one or nothing: a
    failing endpoint is not tried once per message. None when nothing is due that nobody else
    holds."""
    retrying = conn.execute(_RETRYING, (webhook_id,)).fetchone()
    if retrying is not None:
        if delivery_id is not None and delivery_id != retrying[0]:
            return None
        delivery_id = retrying[0]
    row = _row(conn, _CLAIM, (webhook_id, delivery_id, delivery_id))
    if row is not None:
        conn.execute(
            "UPDATE deliveries SET next_attempt_at = now() + make_interval(secs => %s)"
            " WHERE delivery_id = %s",
            (lease_seconds, row["delivery_id"]),
        )
    return row


def record_attempt(conn, delivery_id, outcome, status, next_in):
    """The outcome of one attempt: status and, for a pending one, the wait before the next."""
    conn.execute(
        "UPDATE deliveries SET attempts = attempts + 1, last_attempt_at = now(),"
        " response_code = %s, duration_ms = %s, last_error = %s, status = %s,"
        " next_attempt_at = now() + make_interval(secs => %s),"
        " delivered_at = CASE WHEN %s = 'delivered' THEN now() END"
        " WHERE delivery_id = %s",
        (
            outcome.status_code,
            outcome.duration_ms,
            outcome.error,
            status,
            next_in,
            status,
            delivery_id,
        ),
    )
