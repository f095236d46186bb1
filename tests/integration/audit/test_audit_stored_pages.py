"""The verifier's reader: the whole chain in seq order, page by page, whatever the gaps."""

import json
import uuid

import psycopg
import pytest

from services.audit import store
from services.audit.chain import canonical_json
from services.audit.envelopes import Received
from services.audit.verification import verify_pages


@pytest.fixture
def chain(make_database):
    """A tenant with a 23-entry chain, and a neighbour tenant whose entries interleave with it."""
    urls = make_database("audit")
    tenant, neighbour = str(uuid.uuid4()), str(uuid.uuid4())
    burst = []
    for number in range(23):
        for owner in (tenant, neighbour):
            envelope = {"event_id": str(uuid.uuid4()), "tenant_id": owner, "n": number}
            burst.append(Received(owner, envelope["event_id"], canonical_json(envelope)))
    with psycopg.connect(urls["app"]) as conn:
        store.append_burst(conn, burst)
    return urls, tenant


def read(urls, tenant, page):
    with psycopg.connect(urls["app"]) as conn:
        store.use_tenant(conn, tenant)
        return list(store.stored_pages(conn, tenant, page=page))


def remove(urls, tenant, first, last):
    with psycopg.connect(urls["admin"]) as conn:
        conn.execute("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
        conn.execute(
            "DELETE FROM audit_entry WHERE tenant_id = %s AND seq BETWEEN %s AND %s",
            (tenant, first, last),
        )
        conn.execute("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")


@pytest.mark.parametrize("page", [1, 5, 23, 1000])
def test_pages_hold_the_tenants_whole_chain_in_seq_order_as_stored_bytes(chain, page):
    urls, tenant = chain

    pages = read(urls, tenant, page)

    assert all(len(rows) <= page for rows in pages)
    rows = [row for rows in pages for row in rows]
    assert [row[0] for row in rows] == list(range(1, 24))
    assert all(type(value) is bytes for row in rows for value in row[1:])
    assert all(json.loads(row[3])["tenant_id"] == tenant for row in rows)
    assert verify_pages(pages, [], {}, tenant_id=tenant).entries == 23


def test_an_empty_chain_has_no_pages(make_database):
    urls = make_database("audit")
    assert read(urls, str(uuid.uuid4()), 5) == []


def test_a_gap_longer_than_a_page_still_yields_the_entry_after_it(chain):
    urls, tenant = chain
    remove(urls, tenant, 6, 17)  # pages of 5: 6..10 and 11..15 are empty

    pages = read(urls, tenant, 5)
    result = verify_pages(iter(pages), [], {}, tenant_id=tenant)

    assert [row[0] for row in pages[1]] == [18]
    assert (result.ok, result.first_bad_seq, result.entries) == (False, 6, 5)
