"""Writes the gateway's API reference: every service's OpenAPI document merged into one
(openapi.json), which nginx serves with docs.html (a self-contained page rendering it).

    python deploy/nginx/api_reference.py [--out deploy/nginx]

Why here, at render time, rather than in a service: the documents are a function of the code
(routes and marshmallow schemas), not of anything a running service knows; built from the
service classes (their containers are bound, never started), the merge needs no service up,
no service calling the others at start (nor the network policies that would take), and the
gateway answers it even while a service is down. tests/unit/deploy checks that the committed
files are what the code renders now, as it does for container.nginx.conf.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TOKEN_URL = "/v1/auth/token"
# Routes a caller reaches without a DZDesk access token (they get one, or end a session).
OPEN_PREFIX = "/v1/auth/"

SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from a sign-in or from the client-credentials grant.",
    },
    "clientCredentials": {
        "type": "oauth2",
        "description": "A service account's client id and secret (RFC 6749 section 4.4).",
        "flows": {"clientCredentials": {"tokenUrl": TOKEN_URL, "scopes": {}}},
    },
    "clientBasic": {
        "type": "http",
        "scheme": "basic",
        "description": "client_id:client_secret at the token endpoint (RFC 6749 section 2.3.1).",
    },
}


def service_document(name: str) -> dict:
    """The document `name` serves at /openapi.json, built from its class (never started)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from nameko.containers import ServiceContainer

    from shared import openapi
    from shared.launch import service_class
    from shared.web import HttpEntrypoint

    container = ServiceContainer(service_class(name), {"AMQP_URI": "memory://"})
    entrypoints = [e for e in container.entrypoints if isinstance(e, HttpEntrypoint)]
    return openapi.build(name, entrypoints)


def _rewrite_refs(value, renames: dict[str, str]):
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            value = {**value, "$ref": "#/components/schemas/" + renames.get(name, name)}
        return {key: _rewrite_refs(item, renames) for key, item in value.items()}
    if isinstance(value, list):
        return [_rewrite_refs(item, renames) for item in value]
    return value


def merge(documents: dict[str, dict], version: str = "1") -> dict:
    """One document of the routes the gateway publishes (/v1/...), each tagged with its
    service; a schema name two services use for different schemas is prefixed with the
    service's name (Ticketing...), an identical one kept once."""
    schemas: dict[str, dict] = {}
    paths: dict[str, dict] = {}
    for service, document in documents.items():
        document = copy.deepcopy(document)
        renames = {}
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            if name in schemas and schemas[name] != schema:
                renames[name] = service.capitalize() + name
        document = _rewrite_refs(document, renames)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(renames.get(name, name), schema)
        for path, operations in document.get("paths", {}).items():
            if not path.startswith("/v1/"):
                continue  # health, metrics and each service's own document stay internal
            for operation in operations.values():
                operation["tags"] = [service]
                operation["operationId"] = f"{service}.{operation['operationId']}"
                if path == TOKEN_URL:
                    operation["security"] = [{"clientBasic": []}, {}]
                elif path.startswith(OPEN_PREFIX):
                    operation["security"] = []
            paths.setdefault(path, {}).update(operations)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "DZDesk API",
            "version": version,
            "description": "Every DZDesk service's routes, as the gateway publishes them."
            " People sign in (/v1/auth/google, /v1/auth/microsoft); programs use a service"
            f" account's client credentials at {TOKEN_URL}. Either way, send the access token"
            " as `Authorization: Bearer <token>`.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": service} for service in documents],
        "security": [{"bearer": []}, {"clientCredentials": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def routed_services() -> tuple[str, ...]:
    """The services the gateway routes to (render.py's upstreams): a service it does not
    route yet is not in the reference either, whose routes no caller could reach."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from render import SERVICE_PORTS

    return tuple(SERVICE_PORTS)


def merged_document() -> dict:
    return merge({name: service_document(name) for name in routed_services()})


def render_json(document: dict) -> str:
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def write(out_dir: Path) -> list[Path]:
    """Write openapi.json (and docs.html, when `out_dir` is not this directory); the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "openapi.json"]
    written[0].write_text(render_json(merged_document()), encoding="utf-8")
    if out_dir.resolve() != HERE:
        written.append(out_dir / "docs.html")
        written[1].write_text((HERE / "docs.html").read_text(encoding="utf-8"), encoding="utf-8")
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(HERE), help="directory (default: deploy/nginx)")
    args = parser.parse_args(argv)
    for path in write(Path(args.out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
