"""The restore drill timed: privacy started on a dump taken before erasures, until every key is
shredded again."""

import subprocess
import time
import uuid

import psycopg
import requests
from nameko.standalone.rpc import ClusterRpcProxy
from psycopg import sql

from bench.bench_privacy import Services
from bench.common import row
from shared import config

ERASED_BEFORE, ERASED_AFTER = 20, 20  # tombstones in the dump; keys the dump brings back


def _erase(services, tokens, tenant, subjects):
    ids = []
    for subject in subjects:
        response = requests.post(
            services.base + "/v1/privacy/requests",
            timeout=30,
            json={"type": "erasure", "subject_id": subject},
            headers=tokens.headers(tenant_id=tenant, user_id=subject),
        )
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


def _until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout} s")
        time.sleep(0.05)


def _answers(proxy, tenant):
    try:
        proxy.privacy.get_subject_key(tenant, str(uuid.uuid4()))
        return True
    except Exception:
        return False


def _count(url, query, *args):
    with psycopg.connect(url) as conn:
        return conn.execute(query, args).fetchone()[0]


def _restore(env, dump):
    name = f"dzdesk_privacy_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(env.admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(config.role_names("privacy")["owner"])
            )
        )
    env.databases.append(name)
    admin_url = psycopg.conninfo.make_conninfo(env.admin_url, dbname=name)
    subprocess.run(["pg_restore", "--exit-on-error", "-d", admin_url, dump], check=True)
    roles = config.role_names("privacy")
    return {
        "admin": admin_url,
        "app": config.role_url(env.admin_url, roles["app"], name),
        "system": config.role_url(env.admin_url, roles["system"], name),
    }


def run(env, tmp="/tmp"):
    from tests.support.tokens import TokenIssuer

    tokens = TokenIssuer()
    services = Services(env, tokens, PRIVACY_RECONCILE_SECONDS=60)
    audit_urls = env.make_database("audit")
    audit_cfg = env.service_config("audit", audit_urls, services.amqp_uri, **tokens.config)
    services.processes.append(services.spawn("services.audit.service:AuditService", audit_cfg))
    privacy_urls = services.privacy_urls
    tenant = str(uuid.uuid4())
    before = [str(uuid.uuid4()) for _ in range(ERASED_BEFORE)]
    after = [str(uuid.uuid4()) for _ in range(ERASED_AFTER)]
    dump = f"{tmp}/dzdesk-bench-privacy-{uuid.uuid4().hex[:8]}.dump"
    shredded = (
        "SELECT count(*) FROM subject_keys WHERE shredded_at IS NOT NULL AND subject_id = ANY(%s)"
    )
    try:
        with ClusterRpcProxy({"AMQP_URI": services.amqp_uri}, timeout=120) as proxy:
            services.wait_ready(proxy)
            _until(lambda: _answers(proxy, tenant), 120, "privacy's first check against audit")
            for subject in before + after:
                proxy.profiles.record(tenant, subject, "Ada Lovelace", "ada@example.com", 5)
            _erase(services, tokens, tenant, before)
            _until(
                lambda: _count(privacy_urls["admin"], shredded, before) == ERASED_BEFORE,
                300,
                "the first erasures",
            )
            subprocess.run(["pg_dump", "-Fc", "-f", dump, privacy_urls["admin"]], check=True)
            _erase(services, tokens, tenant, after)
            _until(
                lambda: (
                    _count(
                        audit_urls["admin"],
                        "SELECT count(*) FROM audit_entry WHERE"
                        " event_type = 'privacy.subject_key_shredded'",
                    )
                    == ERASED_BEFORE + ERASED_AFTER
                ),
                300,
                "every shredding in the audit log",
            )
        privacy = services.processes.pop(0)
        privacy.terminate()
        privacy.wait(timeout=30)
        restored = _restore(env, dump)
        if _count(restored["admin"], shredded, after) != 0:
            raise AssertionError("the dump should hold the later-erased subjects' keys")
        cfg = {
            **services.privacy_cfg,
            "DATABASE_URL": restored["app"],
            "SYSTEM_DATABASE_URL": restored["system"],
        }
        started = time.perf_counter()
        services.processes.append(services.spawn("services.privacy.service:PrivacyService", cfg))
        ready = reshredded = None
        while reshredded is None or ready is None:
            if ready is None:
                try:
                    if requests.get(services.base + "/health/ready", timeout=1).status_code == 200:
                        ready = time.perf_counter() - started
                except requests.RequestException:
                    pass
            if reshredded is None and _count(restored["admin"], shredded, after) == ERASED_AFTER:
                reshredded = time.perf_counter() - started
            if time.perf_counter() - started > 120:
                raise TimeoutError("the restored keys were not shredded again within 120 s")
            time.sleep(0.02)
    finally:
        services.close()
        tokens.close()
        subprocess.run(["rm", "-f", dump], check=False)
    return [row("privacy.restore.reshred_s", reshredded, "s", ready)]
