"""Paths and loaders shared by the deployment tests (deploy/ is not a Python package)."""

from __future__ import annotations

import functools
import http.client
import importlib.util
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
NGINX = DEPLOY / "nginx"
OBSERVABILITY = DEPLOY / "observability"
LAYERS = ["base", "overlays/dev", "overlays/prod"]
OVERLAYS = ["overlays/dev", "overlays/prod"]

SERVICES = ("identity", "ticketing", "privacy", "audit", "ai", "integrations", "notifications")
SERVICE_PORTS = {
    "identity": 8001,
    "ticketing": 8002,
    "privacy": 8003,
    "audit": 8004,
    "ai": 8005,
    "integrations": 8006,
    "notifications": 8007,
}
DOCUMENTED_PREFIXES = {
    "identity": {"/v1/auth", "/v1/me", "/v1/tenant"},
    "ticketing": {
        "/v1/tickets",
        "/v1/ticket-fields",
        "/v1/sla",
        "/v1/reports",
        "/v1/approval-policies",
    },
    "privacy": {"/v1/privacy"},
    "audit": {"/v1/audit"},
    "ai": {"/v1/ai"},
    "integrations": {"/v1/webhooks", "/v1/events"},
    "notifications": {"/v1/me/notifications"},
}

_ROUTE = re.compile(
    r"location ~ \^/v1/\(([a-z|/-]+)\)\(/\|\$\) \{\s*(?:[^{}]*?)proxy_pass http://([a-z]+);", re.S
)


@functools.cache
def load_renderer():
    """Import deploy/nginx/render.py as a module (once: its classes stay the same objects)."""
    spec = importlib.util.spec_from_file_location("dzdesk_gateway_render", NGINX / "render.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def routes(config_text: str) -> dict[str, set[str]]:
    """Upstream name -> path prefixes the rendered config proxies to it."""
    found: dict[str, set[str]] = {}
    for alternatives, upstream in _ROUTE.findall(config_text):
        found.setdefault(upstream, set()).update(f"/v1/{name}" for name in alternatives.split("|"))
    return found


def load_yaml_documents(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kustomize_command():
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@functools.cache
def _build_text(layer: str) -> str:
    command = _kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed")
    result = subprocess.run(
        [*command, str(K8S / layer)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def build(layer: str) -> list[dict]:
    """The resources `kustomize build deploy/k8s/<layer>` renders (a fresh copy each call)."""
    return [doc for doc in yaml.safe_load_all(_build_text(layer)) if doc]


def by_kind(documents, kind):
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def container(workload):
    return workload["spec"]["template"]["spec"]["containers"][0]


# --- a real nginx in front of echoing fake services ------------------------------------------


def _echo_handler(service: str):
    class Echo(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = json.dumps(
                {
                    "service": service,
                    "path": self.path,
                    "request_id": self.headers.get("X-Request-ID"),
                    "real_ip": self.headers.get("X-Real-IP"),
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            # A service that echoes the id must not make the client see two.
            self.send_header("X-Request-ID", "from-the-service")
            # Headers and body in one write: two small writes meet Nagle and delayed ACKs.
            self._headers_buffer.append(b"\r\n")
            self.wfile.write(b"".join(self._headers_buffer) + body)
            self._headers_buffer = []

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    return Echo


@contextmanager
def fake_services():
    servers = {
        name: ThreadingHTTPServer(("127.0.0.1", 0), _echo_handler(name)) for name in SERVICES
    }
    for server in servers.values():
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield {name: f"127.0.0.1:{server.server_address[1]}" for name, server in servers.items()}
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()


@contextmanager
def running_gateway(upstreams, trusted_proxies=(), run_dir=None, **options):
    """nginx on a free port running the rendered gateway config (`options` go to render)."""
    run_dir = run_dir or Path(tempfile.mkdtemp(prefix="dz-gateway-"))
    run_dir.chmod(0o755)  # workers drop to an unprivileged user when the test runs as root
    port = free_port()
    config = run_dir / "nginx.conf"
    config.write_text(
        load_renderer().render(
            run_dir=str(run_dir),
            listen=f"127.0.0.1:{port}",
            upstreams=upstreams,
            trusted_proxies=trusted_proxies,
            **options,
        )
    )
    process = subprocess.Popen(
        ["nginx", "-c", str(config), "-e", str(run_dir / "error.log"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_port(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(run_dir, ignore_errors=True)


def _wait_for_port(port, process, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {process.stderr.read().decode()}")
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("nginx did not start listening")


def request(port, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()
