"""Renders the gateway nginx.conf from gateway.conf.template for local runs and containers."""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, fields
from pathlib import Path

TEMPLATE = Path(__file__).with_name("gateway.conf.template")
# Where openapi.json and docs.html are (api_reference.py writes them next to this file).
STATIC_DIR = Path(__file__).resolve().parent

# Service name -> local port (docs/architecture.md, "Services").
SERVICE_PORTS = {
    "identity": 8001,
    "ticketing": 8002,
    "privacy": 8003,
    "audit": 8004,
    "ai": 8005,
    "integrations": 8006,
    "notifications": 8007,
}

# Where the ingress controller / load balancer lives in a cluster or a compose network.
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")

# Container profile: upstreams are the compose service / Kubernetes Service names, logs go to
# the container's stdout and stderr, and /tmp/nginx is the only writable directory.
CONTAINER_PROFILE = {
    "run_dir": "/tmp/nginx",
    "listen": "8080",
    "upstreams": {name: f"{name}:{port}" for name, port in SERVICE_PORTS.items()},
    "access_log": "/dev/stdout",
    "worker_processes": "2",
    "error_log": "/dev/stderr",
    "trusted_proxies": PRIVATE_NETWORKS,
    # the ConfigMap (Kubernetes) and the mounted files (compose) hold both there
    "static_dir": "/etc/dzdesk",
}

_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


class RenderError(ValueError):
    """The template and the given values do not fit together."""


@dataclass(frozen=True)
class RateLimits:
    """The gateway's fair limits (README, "Rate limits"), requests per second and bursts.

    Each is also read from the environment of render.py, e.g. DZDESK_GATEWAY_TOKEN_RATE.
    """

    token_rate: int = 20  # per access token
    token_burst: int = 40
    anonymous_rate: int = 20  # per client address, requests without a bearer token
    anonymous_burst: int = 40
    address_rate: int = 200  # per client address, everything (the coarse ceiling)
    address_burst: int = 400
    retry_after: int = 1  # seconds, in Retry-After and RateLimit's t on a 429
    token_zone: str = "10m"  # shared memory for the token buckets (about 20,000 tokens)

    @classmethod
    def from_env(cls, env=None) -> RateLimits:
        env = os.environ if env is None else env
        values = {}
        for field in fields(cls):
            raw = env.get(f"DZDESK_GATEWAY_{field.name.upper()}")
            if raw is not None:
                values[field.name] = raw if field.type == "str" else int(raw)
        return cls(**values)

    def __post_init__(self):
        for field in fields(self):
            value = getattr(self, field.name)
            if field.type == "int" and (not isinstance(value, int) or value < 1):
                raise RenderError(f"{field.name} must be a whole number from 1, not {value!r}")
        if not re.fullmatch(r"[1-9][0-9]*[km]", self.token_zone):
            raise RenderError(f"token_zone must be a size such as 10m, not {self.token_zone!r}")

    def values(self) -> dict[str, str]:
        return {field.name.upper(): str(getattr(self, field.name)) for field in fields(self)}


# The largest file the attachments route takes (TICKETING_ATTACHMENT_MAX_BYTES of ticketing,
# the same default): every other route keeps its 1m.
ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024


def attachment_max_bytes(env=None) -> int:
    env = os.environ if env is None else env
    raw = env.get("TICKETING_ATTACHMENT_MAX_BYTES")
    if raw is None:
        return ATTACHMENT_MAX_BYTES
    if not str(raw).isdigit() or int(raw) < 1:
        raise RenderError("TICKETING_ATTACHMENT_MAX_BYTES must be a whole number of bytes")
    return int(raw)


def default_upstreams() -> dict[str, str]:
    return {name: f"127.0.0.1:{port}" for name, port in SERVICE_PORTS.items()}


def trusted_proxies_block(networks) -> str:
    if not networks:
        return "    # No trusted proxies: the peer address is the client.\n"
    lines = [f"    set_real_ip_from {network};" for network in networks]
    lines += ["    real_ip_header X-Forwarded-For;", "    real_ip_recursive on;"]
    return "\n".join(lines) + "\n"


def render(
    *,
    run_dir: str,
    listen: str = "8080",
    upstreams: dict[str, str] | None = None,
    access_log: str | None = None,
    error_log: str | None = None,
    trusted_proxies=(),
    worker_processes: str = "auto",
    template: str | None = None,
    limits: RateLimits | None = None,
    static_dir: str | None = None,
    attachment_bytes: int | None = None,
) -> str:
    """Return the nginx.conf text; every ${PLACEHOLDER} must be known, every upstream given."""
    chosen = default_upstreams()
    unknown = set(upstreams or {}) - set(SERVICE_PORTS)
    if unknown:
        raise RenderError(f"unknown service(s) {sorted(unknown)}; known: {sorted(SERVICE_PORTS)}")
    chosen.update(upstreams or {})
    run_dir = run_dir.rstrip("/") or "/"
    values = {
        "RUN_DIR": run_dir,
        "LISTEN": str(listen),
        "WORKER_PROCESSES": str(worker_processes),
        "ACCESS_LOG": access_log or f"{run_dir}/access.log",
        "ERROR_LOG": error_log or f"{run_dir}/error.log",
        "TRUSTED_PROXIES": trusted_proxies_block(trusted_proxies),
        "STATIC_DIR": (static_dir or str(STATIC_DIR)).rstrip("/") or "/",
        # the file, and what a multipart body holds besides it (ticketing's MULTIPART_SLACK)
        "ATTACHMENT_MAX_BYTES": str((attachment_bytes or attachment_max_bytes()) + 64 * 1024),
    }
    values.update((limits or RateLimits()).values())
    values.update({f"{name.upper()}_UPSTREAM": address for name, address in chosen.items()})

    def substitute(match: re.Match) -> str:
        try:
            return values[match.group(1)]
        except KeyError:
            raise RenderError(f"template placeholder ${{{match.group(1)}}} has no value") from None

    text = TEMPLATE.read_text(encoding="utf-8") if template is None else template
    return _PLACEHOLDER.sub(substitute, text)


def render_container(limits: RateLimits | None = None, attachment_bytes: int | None = None) -> str:
    """The config compose mounts and Kubernetes generates its ConfigMap from (one file,
    deploy/nginx/container.nginx.conf; the committed one has the default limits and the
    default largest file, whatever this shell's environment says)."""
    return render(
        **CONTAINER_PROFILE,
        limits=limits,
        attachment_bytes=attachment_bytes or ATTACHMENT_MAX_BYTES,
    )


def _upstream(value: str) -> tuple[str, str]:
    name, sep, address = value.partition("=")
    if not sep or not name or ":" not in address:
        raise argparse.ArgumentTypeError(f"expected NAME=HOST:PORT, got {value!r}")
    return name, address


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="file to write ('-' for stdout)")
    parser.add_argument(
        "--profile",
        choices=["local", "container"],
        default="local",
        help="container: the compose/Kubernetes settings; the options below then do not apply",
    )
    parser.add_argument(
        "--run-dir",
        default=None,
        help=(
            "directory for the pid file, temp files and logs (default: the --out file's directory)"
        ),
    )
    parser.add_argument(
        "--listen", default="8080", help="nginx listen value, e.g. 8080 or 127.0.0.1:8080"
    )
    parser.add_argument(
        "--upstream",
        action="append",
        type=_upstream,
        default=[],
        metavar="NAME=HOST:PORT",
        help="override one service's address (repeatable; default 127.0.0.1:<its port>)",
    )
    parser.add_argument(
        "--worker-processes", default="auto", help="nginx worker_processes (default auto)"
    )
    parser.add_argument("--access-log", default=None, help="default: <run dir>/access.log")
    parser.add_argument("--error-log", default=None, help="default: <run dir>/error.log")
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="CIDR",
        help="address range whose X-Forwarded-For is believed (repeatable; default none)",
    )
    defaults = RateLimits.from_env()
    for field in fields(RateLimits):
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            type=str if field.type == "str" else int,
            default=getattr(defaults, field.name),
            help=f"rate limit setting (default {getattr(defaults, field.name)}, or"
            f" DZDESK_GATEWAY_{field.name.upper()})",
        )
    parser.add_argument(
        "--attachment-max-bytes",
        type=int,
        default=None,
        help="the largest file of the attachments route (default TICKETING_ATTACHMENT_MAX_BYTES"
        f", else {ATTACHMENT_MAX_BYTES}); keep it equal to ticketing's",
    )
    parser.add_argument(
        "--static-dir",
        default=None,
        help="where openapi.json and docs.html are (default: this script's directory)",
    )
    return parser.parse_args(argv)


def _limits(args) -> RateLimits:
    return RateLimits(**{field.name: getattr(args, field.name) for field in fields(RateLimits)})


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.profile == "container":
        text = render_container(_limits(args), args.attachment_max_bytes)
    else:
        out_dir = Path.cwd() if args.out == "-" else Path(args.out).resolve().parent
        run_dir = Path(args.run_dir).resolve() if args.run_dir else out_dir
        text = render(
            run_dir=str(run_dir),
            listen=args.listen,
            upstreams=dict(args.upstream),
            access_log=args.access_log,
            error_log=args.error_log,
            trusted_proxies=args.trusted_proxy,
            worker_processes=args.worker_processes,
            limits=_limits(args),
            static_dir=args.static_dir,
            attachment_bytes=args.attachment_max_bytes,
        )
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
