"""Idempotency records answer retries for 24 hours, then count as absent and are purged."""

import psycopg

from tests.support.waiting import wait_until


def _age_key(urls, key, hours):
    with psycopg.connect(urls["admin"]) as conn:
        conn.execute(
            "UPDATE idempotency_keys SET created_at = now() - %s * interval '1 hour'"
            " WHERE key = %s",
            (hours, key),
        )


def _keys(urls):
    with psycopg.connect(urls["admin"]) as conn:
        return {row[0] for row in conn.execute("SELECT key FROM idempotency_keys")}


def test_an_idempotency_key_older_than_a_day_creates_a_new_ticket(ticketing):
    api, _, urls, _ = ticketing
    requester = api.user("requester")
    body = {"type": "incident", "title": "Printer jams", "description": "Tray 2 jams."}
    first = api.call("POST", "/v1/tickets", requester, body, **{"Idempotency-Key": "k-day"})
    _age_key(urls, "k-day", 25)

    again = api.call("POST", "/v1/tickets", requester, body, **{"Idempotency-Key": "k-day"})

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] != first.json()["id"]
    assert "Idempotent-Replayed" not in again.headers


def test_an_idempotency_key_younger_than_a_day_still_replays(ticketing):
    api, _, urls, _ = ticketing
    requester = api.user("requester")
    body = {"type": "incident", "title": "Printer jams", "description": "Tray 2 jams."}
    first = api.call("POST", "/v1/tickets", requester, body, **{"Idempotency-Key": "k-hour"})
    _age_key(urls, "k-hour", 23)

    again = api.call("POST", "/v1/tickets", requester, body, **{"Idempotency-Key": "k-hour"})

    assert (
        again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    )


def test_the_periodic_job_deletes_expired_idempotency_records_of_every_tenant_and_keeps_fresh_ones(
    ticketing_factory,
):
    api, _, urls, _ = ticketing_factory(IDEMPOTENCY_PURGE_INTERVAL=0.2)
    other = api.other_tenant()
    body = {"type": "incident", "title": "Printer jams", "description": "Tray 2 jams."}
    for tenant_api, key in ((api, "old-a"), (other, "old-b"), (api, "fresh")):
        tenant_api.call(
            "POST", "/v1/tickets", tenant_api.user("requester"), body, **{"Idempotency-Key": key}
        )
    _age_key(urls, "old-a", 24.1)
    _age_key(urls, "old-b", 48)

    wait_until(lambda: _keys(urls) == {"fresh"}, 15, "the expired records to be deleted")
