"""Every service publishes an OpenAPI document built from its routes and marshmallow schemas."""

import requests


def document(suite, service):
    return requests.get(
        f"http://{suite.configs[service]['WEB_SERVER_ADDRESS']}/openapi.json", timeout=10
    ).json()


def body_schema(doc, path, method):
    ref = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_each_service_documents_its_routes_and_request_bodies(suite):
    for service in ("identity", "ticketing", "privacy", "audit", "ai"):
        doc = document(suite, service)
        assert doc["openapi"].startswith("3.") and "/health/ready" in doc["paths"], service
    assert "title" in body_schema(document(suite, "ticketing"), "/v1/tickets", "post")["properties"]
    assert body_schema(document(suite, "identity"), "/v1/auth/google", "post")["required"] == [
        "id_token"
    ]
    assert (
        "type"
        in body_schema(document(suite, "privacy"), "/v1/privacy/requests", "post")["properties"]
    )


def test_the_gateway_serves_every_services_routes_merged_and_a_reference_page(suite):
    merged = requests.get(suite.gateway + "/v1/openapi.json", timeout=10)
    assert merged.status_code == 200, merged.text
    merged = merged.json()
    for service in ("identity", "ticketing", "privacy", "audit", "ai"):
        published = {path for path in document(suite, service)["paths"] if path.startswith("/v1/")}
        ours = {
            path
            for path, operations in merged["paths"].items()
            if any(op["tags"] == [service] for op in operations.values())
        }
        # what the running services answer is what the committed document says
        assert ours == published, service
    assert {"bearer", "clientCredentials"} <= set(merged["components"]["securitySchemes"])
    page = requests.get(suite.gateway + "/docs", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "/v1/openapi.json" in page.text
