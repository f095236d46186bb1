"""What every benchmark module gets: throwaway databases and vhosts, timing helpers, rows."""

import base64
import json
import os
import statistics
import subprocess
import threading
import time
import uuid

import psycopg
import requests
from nameko.web.handlers import http
from psycopg import sql

from shared import broker, config, migrations


class BenchEnv:
    """Creates fresh databases (from migrations) and RabbitMQ vhosts; removes them at the end."""

    def __init__(self):
        self.run_id = uuid.uuid4().hex[:8]
        self.admin_url = config.admin_url()
        self.amqp_base = os.environ.get("AMQP_URI", config.DEFAULT_AMQP_URI)
        self.management = os.environ.get("RABBIT_CTL_URI", "http://guest:guest@localhost:15672")
        self.master_key = base64.b64encode(os.urandom(32)).decode()
        self.databases, self.vhosts = [], []
        # each service logs in as its own broker user, as in production; probe stands for
        # the benchmarks' own services
        self.passwords = broker.local_passwords(config.SERVICES + ("probe",))
        broker.apply(
            self.management,
            {
                "users": [
                    {"name": name, "password": password, "tags": ""}
                    for name, password in self.passwords.items()
                ]
            },
        )

    def as_user(self, amqp_uri, name):
        """The vhost's URI logging in as broker user `name` (guest for other names)."""
        password = self.passwords.get(name)
        return broker.with_user(amqp_uri, name, password) if password else amqp_uri

    def make_database(self, service):
        name = f"dzdesk_{service}_bench_{uuid.uuid4().hex[:8]}"
        migrations.migrate(service, database=name, log=lambda *_: None)
        self.databases.append(name)
        roles = config.role_names(service)
        return {
            "name": name,
            "app": config.role_url(self.admin_url, roles["app"], name),
            "system": config.role_url(self.admin_url, roles["system"], name),
            "admin": psycopg.conninfo.make_conninfo(self.admin_url, dbname=name),
        }

    def make_vhost(self):
        vhost = f"bench-{uuid.uuid4().hex[:8]}"
        api = self.management.rstrip("/") + "/api"
        requests.put(f"{api}/vhosts/{vhost}", timeout=10).raise_for_status()
        requests.put(
            f"{api}/permissions/{vhost}/guest",
            timeout=10,
            json={"configure": ".*", "write": ".*", "read": ".*"},
        ).raise_for_status()
        document = broker.definitions(vhost)
        document["permissions"].append(
            {"user": "probe", "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}
        )
        document["exchanges"].append({**document["exchanges"][0], "name": "probe.events"})
        broker.apply(self.management, document)
        self.vhosts.append(vhost)
        return self.amqp_base.rstrip("/") + "/" + vhost

    def service_config(self, service, urls, amqp_uri, **extra):
        values = config.nameko_config(service, env={})
        values.update(
            {
                "AMQP_URI": self.as_user(amqp_uri, service),
                "DATABASE_URL": urls["app"],
                "DZDESK_RPC_OPERATORS": "probe",
                "SYSTEM_DATABASE_URL": urls["system"],
                "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
                # each service's own secret (deploy/README.md): the master key to privacy alone
                **{
                    "privacy": {"DZDESK_MASTER_KEY": self.master_key},
                    "identity": {"IDENTITY_SECRET_KEY": self.master_key},
                    "audit": {"AUDIT_SECRET_KEY": self.master_key},
                    "integrations": {"INTEGRATIONS_SECRET_KEY": self.master_key},
                }.get(service, {}),
            }
        )
        if service == "privacy":
            values["PRIVACY_RECONCILE_SECONDS"] = 0  # no audit in most benchmarks: no restore check
        values.update(extra)
        return values

    def close(self):
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            for name in self.databases:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        api = self.management.rstrip("/") + "/api"
        for vhost in self.vhosts:
            requests.delete(f"{api}/vhosts/{vhost}", timeout=10)


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def row(name, value, unit, baseline=None):
    """A result row: `ratio` is value / baseline when a baseline was measured in this run."""
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 3),
        "ratio": None if not baseline else round(value / baseline, 3),
    }


def rate(count, seconds):
    return count / seconds if seconds > 0 else float("inf")


def percentiles(samples):
    ordered = sorted(samples)

    def at(p):
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return {"p50": at(0.50), "p99": at(0.99), "mean": statistics.fmean(ordered)}


def timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def dumps(rows):
    return json.dumps(rows, indent=2)


class BareService:
    """The baseline of every HTTP benchmark: nameko @http endpoints that answer a constant."""

    name = "bare"

    @http("GET", "/bare")
    def constant(self, request):
        return json.dumps({"ok": True})

    @http("POST", "/bare/<ticket_id>")
    def constant_for(self, request, ticket_id):
        return json.dumps({"ok": True, "ticket_id": ticket_id})

    @http("GET", "/health/ready")
    def ready(self, request):
        return json.dumps({"status": "ok"})


def start_service(target, config):
    """`module:Class` in a process of its own, once it answers /health/ready."""
    from tests.support.run_service import start_process

    return start_process(target, config, timeout=60)


def stop_service(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def fixed_rate(send, rate, seconds, threads=32):
    """Call send(session, i) `rate` times a second for `seconds`, open loop.

    Returns (successes per second, latencies in ms of the successes, failures)."""
    from concurrent.futures import ThreadPoolExecutor

    latencies, failures, lock, local = [], [0], threading.Lock(), threading.local()

    def one(i):
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        began = time.perf_counter()
        ok = send(session, i)
        elapsed = (time.perf_counter() - began) * 1000
        with lock:
            if ok:
                latencies.append(elapsed)
            else:
                failures[0] += 1

    total = rate * seconds
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for i in range(total):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, i)
    return len(latencies) / (time.perf_counter() - started), latencies, failures[0]
