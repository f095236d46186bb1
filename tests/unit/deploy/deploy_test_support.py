"""Paths and loaders shared by the deployment tests (deploy/ is not a Python package)."""

from __future__ import annotations

import functools
import importlib.util
import re
import shutil
import socket
import subprocess
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

SERVICES = ("identity", "ticketing", "privacy", "audit", "ai")
SERVICE_PORTS = {"identity": 8001, "ticketing": 8002, "privacy": 8003, "audit": 8004, "ai": 8005}
DOCUMENTED_PREFIXES = {
    "identity": {"/v1/auth", "/v1/me", "/v1/tenant"},
    "ticketing": {"/v1/tickets", "/v1/sla"},
    "privacy": {"/v1/privacy"},
    "audit": {"/v1/audit"},
    "ai": {"/v1/ai"},
}

_ROUTE = re.compile(
    r"location ~ \^/v1/\(([a-z|]+)\)\(/\|\$\) \{\s*(?:[^{}]*?)proxy_pass http://([a-z]+);", re.S
)


def load_renderer():
    """Import deploy/nginx/render.py as a module."""
    spec = importlib.util.spec_from_file_location("dzdesk_gateway_render", NGINX / "render.py")
    module = importlib.util.module_from_spec(spec)
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
