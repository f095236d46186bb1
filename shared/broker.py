"""Broker users: one per service, its permissions, and the set-up that creates them."""

import os
import pathlib
import re
import sys
import time
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from shared.config import SERVICES

RPC_EXCHANGE = "nameko-rpc"
ANONYMOUS = "anonymous"


def events_exchange(service):
    return f"{service}.events"


def internal_exchange(service):
    """The service's own direct exchange to its retry and dead-letter queues: no service
    may write to the default exchange, which reaches every queue by name."""
    return f"{service}.internal"


def permissions(service):
    """configure/write/read regexps: its own exchanges and queues, the RPC exchange, reads
    of every `<service>.events` (to bind its queues) and server-named exclusive queues."""
    s = re.escape(service)
    own = (
        rf"{s}\..+|evt-.+--{s}\..+|rpc-{s}|rpc\.reply-{s}-.+|amq\.gen-.+|{re.escape(RPC_EXCHANGE)}"
    )
    return {"configure": f"^({own})$", "write": f"^({own})$", "read": rf"^({own}|[a-z]+\.events)$"}


def queue_arguments(config):
    """Declaration arguments of a service's durable queues (its event queues and its RPC
    queue): quorum, replicated across a RabbitMQ cluster and counting deliveries, unless
    QUEUE_TYPE is `classic` (a single development node)."""
    return {"x-queue-type": "quorum"} if config.get("QUEUE_TYPE", "quorum") == "quorum" else {}


def owns_event(sender, event_type):
    """An event named `<service>.<name>` is genuine only from that service's broker user."""
    return sender == event_type.split(".", 1)[0]


def exchanges():
    """Declared by the set-up: a consumer binds to another service's exchange passively,
    having no right to declare (or delete) it."""
    for service in SERVICES:
        yield {"name": events_exchange(service), "type": "topic"}
        yield {"name": internal_exchange(service), "type": "direct"}


def definitions(vhost="/", passwords=None):
    """A RabbitMQ definitions document: the users (when passwords are given), their
    permissions on `vhost` and the exchanges there."""
    document = {
        "permissions": [
            {"user": service, "vhost": vhost, **permissions(service)} for service in SERVICES
        ],
        "exchanges": [
            {
                **exchange,
                "vhost": vhost,
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
            for exchange in exchanges()
        ],
    }
    if passwords:
        document["users"] = [
            {"name": service, "password": passwords[service], "tags": ""} for service in SERVICES
        ]
    return document


def apply(api_url, document, timeout=10):
    """POST the definitions to the management API at `api_url` (credentials in the URL)."""
    import requests

    parts = urlsplit(api_url)
    base = urlunsplit(
        (
            parts.scheme,
            parts.hostname + (f":{parts.port}" if parts.port else ""),
            parts.path.rstrip("/"),
            "",
            "",
        )
    )
    response = requests.post(
        f"{base}/api/definitions",
        json=document,
        timeout=timeout,
        auth=(unquote(parts.username or "guest"), unquote(parts.password or "guest")),
    )
    response.raise_for_status()
    retire_classic_rpc_queues(base, parts, vhost_of(document), timeout)


def vhost_of(document):
    return next((p["vhost"] for p in document.get("permissions", [])), "/")


def retire_classic_rpc_queues(base, parts, vhost, timeout=10):
    """Deletes a service's `rpc-<service>` queue left classic by an earlier release: the
    service declares it quorum (so RPCs survive the loss of a node) and a broker refuses to
    redeclare a queue as another type. Requests still in it are lost, which their callers
    see as a timeout (503) and retry."""
    from urllib.parse import quote

    import requests

    auth = (unquote(parts.username or "guest"), unquote(parts.password or "guest"))
    for service in SERVICES:
        url = f"{base}/api/queues/{quote(vhost, safe='')}/rpc-{service}"
        found = requests.get(url, timeout=timeout, auth=auth)
        if found.status_code == 200 and found.json().get("type") == "classic":
            requests.delete(url, timeout=timeout, auth=auth).raise_for_status()


def user_of(uri):
    """The login user of an AMQP URI (the first, where several are listed): the identity
    RabbitMQ checks a published message's `user_id` against."""
    return unquote(urlsplit(uri.split(";")[0].strip()).username or "guest")


def with_user(uri, user, password):
    """`uri` (one or several, `;`-separated) logging in as user/password."""

    def one(single):
        parts = urlsplit(single.strip())
        host = parts.hostname or "localhost"
        netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}" + (
            f":{parts.port}" if parts.port else ""
        )
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    return ";".join(one(single) for single in uri.split(";"))


def local_passwords(names=SERVICES):
    """Development passwords of broker users (the services', and the tests' own), generated
    once for this user on this machine like the dev master key, never in the repository."""
    from shared import local_secrets

    return local_secrets.stored("broker-users.json", names)


def passwords_from_env(env=None):
    """`<SERVICE>_AMQP_PASSWORD`, or the file named by `<SERVICE>_AMQP_PASSWORD_FILE`."""
    env = os.environ if env is None else env
    found = {}
    for service in SERVICES:
        key = f"{service.upper()}_AMQP_PASSWORD"
        if env.get(key):
            found[service] = env[key]
        elif env.get(f"{key}_FILE"):
            found[service] = pathlib.Path(env[f"{key}_FILE"]).read_text().strip()
        else:
            raise SystemExit(f"{key} (or {key}_FILE) is not set")
    return found


def main(argv=None):
    """`dzdesk-broker-setup`: the set-up job of compose and Kubernetes. Creates the service
    users with their passwords from the environment (secrets), their permissions on
    DZDESK_BROKER_VHOST and the exchanges, through DZDESK_BROKER_API; idempotent."""
    env = os.environ
    api = env.get("DZDESK_BROKER_API", "http://guest:guest@localhost:15672")
    document = definitions(env.get("DZDESK_BROKER_VHOST", "/"), passwords_from_env(env))
    deadline = time.monotonic() + float(env.get("DZDESK_BROKER_WAIT", 120))
    while True:
        try:
            apply(api, document)
            print("broker: service users, permissions and exchanges are set up", flush=True)
            return 0
        except Exception as exc:  # the broker may still be starting: try until the deadline
            if time.monotonic() > deadline:
                print(f"broker: set-up failed: {type(exc).__name__}", file=sys.stderr)
                return 1
            time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())
