"""The hot queries of the audit log keep index plans on a long chain the planner has no
statistics for (a fresh table, or autovacuum off): a plan that scans the chain per burst or per
page turns a linear job quadratic."""

import json
import uuid

import psycopg
import pytest

from services.audit import store
from services.audit.chain import canonical_json
from services.audit.envelopes import Received

LENGTH = 25_000  # the duplicate probe turned into a chain scan at about 20,000 entries


@pytest.fixture
def long_chain(make_database):
    urls = make_database("audit")
    tenant = str(uuid.uuid4())
    with psycopg.connect(urls["app"]) as conn:
        for start in range(0, LENGTH, 5000):
            burst = []
            for number in range(start, start + 5000):
                envelope = {"event_id": str(uuid.uuid4()), "tenant_id": tenant, "n": number}
                burst.append(Received(tenant, envelope["event_id"], canonical_json(envelope)))
            store.append_burst(conn, burst)
            conn.commit()
        analysed = conn.execute(
            "SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables"
            " WHERE relname = 'audit_entry'"
        ).fetchone()
    assert analysed == (None, None), "the table must be as a fresh one: never analysed"
    return urls, tenant


def plan(urls, tenant, query, params):
    with psycopg.connect(urls["app"]) as conn:
        store.use_tenant(conn, tenant)
        rows = conn.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchone()[0]
    return json.dumps(rows)


def test_the_duplicate_probe_of_a_burst_looks_each_event_id_up_in_the_unique_index(long_chain):
    urls, tenant = long_chain
    ids = [str(uuid.uuid4()) for _ in range(1000)]

    text = plan(urls, tenant, store._HEAD_AND_SEEN, {"tenant": tenant, "ids": ids})

    assert '"Index Name": "audit_entry_event_id"' in text
    assert '"Relation Name": "audit_entry", "Alias": "audit_entry", "Filter"' not in text
    assert '"Node Type": "Seq Scan"' not in text


def test_a_verification_page_reads_only_its_own_seq_range(long_chain):
    urls, tenant = long_chain

    text = plan(urls, tenant, store._RANGE, (tenant, 10_000, 11_000))

    assert '"Index Name": "audit_entry_pkey"' in text
    assert '"Node Type": "Seq Scan"' not in text
    assert "seq <= " in text  # the upper bound is part of the index range, not a filter
