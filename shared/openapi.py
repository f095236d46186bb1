"""The OpenAPI document of a service, built from its http entrypoints and marshmallow schemas."""

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
# Every status the shared error mapping (shared/errors.py, each service's exceptions.py) can
# answer, each a problem document. Listed, not "default": a status outside these (a 500, a
# 405 on a documented route) is undocumented, and the schema fuzz in the tests fails on it.
PROBLEM_STATUSES = {
    400: "the request is malformed",
    401: "no valid access token",
    403: "the caller may not do this",
    404: "no such resource",
    409: "conflicts with the resource's state",
    410: "no longer available",
    412: "If-Match is stale",
    413: "the body is larger than the route accepts",
    415: "the body is not JSON",
    422: "valid JSON the request cannot be applied with",
    428: "If-Match is required",
    503: "a dependency is unavailable; retry",
}
PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "object"},
    },
}


def openapi_path(url):
    """werkzeug's `/v1/tickets/<ticket_id>` as OpenAPI's `/v1/tickets/{ticket_id}`."""
    return _CONVERTER.sub(r"{\1}", url)


def build(service_name, entrypoints, version="1"):
    spec = APISpec(
        title=f"DZDesk {service_name}",
        version=version,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
    )
    spec.components.schema("Problem", PROBLEM_SCHEMA)
    components = set()
    paths = {}
    for entrypoint in sorted(entrypoints, key=lambda e: (e.url, e.method)):
        operations = paths.setdefault(openapi_path(entrypoint.url), {})
        for method in entrypoint.method.split(","):
            operations[method.strip().lower()] = _operation(spec, entrypoint, components)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _schema_ref(spec, schema, components):
    schema_cls = schema if isinstance(schema, type) else type(schema)
    name = schema_cls.__name__.removesuffix("Schema")
    # a schema nested in another one's fields is already registered by the plugin
    if name not in components and name not in spec.components.schemas:
        spec.components.schema(name, schema=schema_cls)
        components.add(name)
    return {"$ref": f"#/components/schemas/{name}"}


def _path_schema(entrypoint, name):
    values = getattr(entrypoint, "path_values", {}).get(name)
    return {"type": "string", "enum": list(values)} if values else {"type": "string"}


def _operation(spec, entrypoint, components):
    method = getattr(entrypoint.container.service_cls, entrypoint.method_name, None)
    doc = (method.__doc__ or "").strip().splitlines() if method else []
    operation = {
        "operationId": entrypoint.method_name,
        "summary": doc[0] if doc else entrypoint.method_name.replace("_", " "),
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": _path_schema(entrypoint, name)}
            for name in _CONVERTER.findall(entrypoint.url)
        ],
        "responses": {
            str(status): {
                "description": description,
                "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            }
            for status, description in PROBLEM_STATUSES.items()
        },
    }
    for schema in entrypoint.query or ():
        schema_cls = schema if isinstance(schema, type) else type(schema)
        operation["parameters"].append({"in": "query", "schema": schema_cls})
    raw = getattr(entrypoint.body, "raw_schema", None)
    if raw is not None:
        # raw bytes (a file): a schema with no fields, its media type and OpenAPI schema named
        operation["requestBody"] = {
            "required": True,
            "content": {entrypoint.body.content_type: {"schema": raw}},
        }
    elif entrypoint.body is not None:
        # a schema may name another media type (an OAuth token request is form-encoded)
        media_type = getattr(entrypoint.body, "content_type", "application/json")
        operation["requestBody"] = {
            "required": True,
            "content": {media_type: {"schema": _schema_ref(spec, entrypoint.body, components)}},
        }
    for status, schema in (entrypoint.responses or {}).items():
        body = {"description": str(status)}
        if schema is not None:
            body["content"] = {
                "application/json": {"schema": _schema_ref(spec, schema, components)},
                # a route that also answers in other media types (CSV, NDJSON) names them
                **getattr(schema, "other_media_types", {}),
            }
        operation["responses"][str(status)] = body
    if not entrypoint.responses:
        operation["responses"]["200"] = {"description": "OK"}
    return operation
