"""The gateway template renders to a valid nginx.conf that routes exactly the documented
prefixes."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from deploy_test_support import (
    DEPLOY,
    DOCUMENTED_PREFIXES,
    K8S,
    NGINX,
    SERVICE_PORTS,
    load_renderer,
    load_yaml_documents,
    routes,
)

render = load_renderer()


def load_api_reference():
    spec = importlib.util.spec_from_file_location(
        "dzdesk_api_reference", NGINX / "api_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rendered_config_routes_exactly_the_documented_prefixes():
    text = render.render(run_dir="/tmp/run")

    assert routes(text) == DOCUMENTED_PREFIXES


def test_every_other_path_ends_in_a_404_from_nginx():
    text = render.render(run_dir="/tmp/run")

    catch_all = re.search(r"location / \{\s*return 404;\s*\}", text)
    assert catch_all is not None
    # a route inside a prefix with limits of its own (the bulk import's body size)
    own_limits = re.findall(r"location = (/v1/[a-z/]+) \{[^}]*proxy_pass", text)
    assert own_limits == ["/v1/tickets/import"]
    # one upstream per service (ticketing's attachments route has a location of its own too)
    assert len(set(re.findall(r"proxy_pass http://(\w+);", text))) == len(DOCUMENTED_PREFIXES)
    assert text.count("proxy_pass") == len(DOCUMENTED_PREFIXES) + len(own_limits) + 1


def test_only_the_attachments_route_takes_a_large_streamed_body():
    text = render.render(run_dir="/tmp/run", attachment_bytes=1234567)
    route = re.search(
        r"location ~ \^/v1/\(tickets\)/\[\^/\]\+/attachments\(/\|\$\) \{(.*?)\}", text, re.S
    )
    assert route is not None
    assert "client_max_body_size 1300103;" in route.group(1)
    assert "proxy_request_buffering off;" in route.group(1)
    assert "client_max_body_size 1m;" in text  # every other route (the import has its own)
    # before the general ticketing location: nginx takes the first regex that matches
    assert text.index("/attachments(/|$)") < text.index("^/v1/(me/queue|tickets|ticket-fields")
    assert "client_max_body_size 26279936;" in render.render_container()


def test_rendering_leaves_no_placeholder_behind():
    text = render.render(run_dir="/tmp/run", trusted_proxies=["10.0.0.0/8"])

    assert re.search(r"\$\{[A-Z_]+\}", text) is None


def test_default_upstreams_are_the_local_service_ports():
    text = render.render(run_dir="/tmp/run")

    for name, port in SERVICE_PORTS.items():
        assert re.search(rf"upstream {name} \{{\s*server 127\.0\.0\.1:{port};", text)


def test_an_upstream_override_replaces_only_that_service():
    text = render.render(run_dir="/tmp/run", upstreams={"audit": "10.1.2.3:9999"})

    assert "server 10.1.2.3:9999;" in text
    assert "server 127.0.0.1:8001;" in text
    assert "server 127.0.0.1:8004;" not in text


def test_an_unknown_service_name_is_refused():
    with pytest.raises(render.RenderError):
        render.render(run_dir="/tmp/run", upstreams={f"svc{uuid.uuid4().hex[:6]}": "127.0.0.1:1"})


def test_a_placeholder_without_a_value_is_refused():
    with pytest.raises(render.RenderError):
        render.render(run_dir="/tmp/run", template="pid ${NOT_A_SETTING};")


def test_run_dir_holds_pid_temp_files_and_logs():
    run_dir = f"/tmp/dz-{uuid.uuid4().hex[:8]}"
    text = render.render(run_dir=run_dir)

    for directive in ("pid", "client_body_temp_path", "proxy_temp_path", "access_log", "error_log"):
        value = re.search(rf"^\s*{directive} (\S+?);?\s", text, re.M).group(1)
        assert value.startswith(run_dir + "/"), directive


def test_the_command_line_writes_the_config_with_the_given_listen_and_upstream(tmp_path):
    out = tmp_path / "nginx.conf"

    render.main(
        ["--out", str(out), "--listen", "127.0.0.1:18080", "--upstream", "ai=127.0.0.1:18005"]
    )

    text = out.read_text()
    assert "listen 127.0.0.1:18080 default_server;" in text
    assert "server 127.0.0.1:18005;" in text
    assert f"pid {tmp_path}/nginx.pid;" in text


def test_the_committed_compose_config_is_the_current_container_rendering():
    assert (NGINX / "container.nginx.conf").read_text() == render.render_container()


def test_the_container_rendering_is_committed_once_and_kubernetes_uses_that_file():
    (generator,) = load_yaml_documents(NGINX / "kustomization.yaml")[0]["configMapGenerator"]
    assert generator["files"] == ["nginx.conf=container.nginx.conf", "openapi.json", "docs.html"]
    assert "../../nginx" in load_yaml_documents(K8S / "base" / "kustomization.yaml")[0]["resources"]
    copies = [
        path
        for path in DEPLOY.rglob("*.conf")
        if "upstream identity" in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert copies == [NGINX / "container.nginx.conf"]


def test_the_committed_api_reference_is_what_the_code_renders_now():
    """Re-render after changing a route or schema: python deploy/nginx/api_reference.py"""
    reference = load_api_reference()
    assert (NGINX / "openapi.json").read_text() == reference.render_json(
        reference.merged_document()
    )


def test_the_merged_document_has_every_services_routes_and_both_security_schemes():
    document = json.loads((NGINX / "openapi.json").read_text())
    prefixes = {prefix for service in DOCUMENTED_PREFIXES.values() for prefix in service}
    assert all(any(path.startswith(p) for p in prefixes) for path in document["paths"])
    tags = {op["tags"][0] for ops in document["paths"].values() for op in ops.values()}
    assert tags == set(DOCUMENTED_PREFIXES)  # every service the gateway routes
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    assert schemes["clientCredentials"]["flows"]["clientCredentials"]["tokenUrl"] == (
        "/v1/auth/token"
    )
    token = document["paths"]["/v1/auth/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert document["paths"]["/v1/auth/google"]["post"]["security"] == []
    refs = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(document))
    assert set(refs) <= set(document["components"]["schemas"])


def test_the_reference_page_loads_nothing_from_elsewhere():
    page = (NGINX / "docs.html").read_text()
    assert "/v1/openapi.json" in page
    assert re.search(r"(src|href)=\"(https?:)?//", page) is None
    assert "http://" not in page and "https://" not in page


def test_the_container_config_serves_the_reference_from_the_mounted_config_dir():
    text = render.render_container()
    assert "alias /etc/dzdesk/openapi.json;" in text and "alias /etc/dzdesk/docs.html;" in text


def test_the_container_config_proxies_to_service_names_and_logs_to_stdio():
    text = render.render_container()

    assert "server identity:8001;" in text
    assert "access_log /dev/stdout dz_json;" in text
    assert "set_real_ip_from 10.0.0.0/8;" in text
    assert "worker_processes 2;" in text


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
@pytest.mark.parametrize(
    "trusted", [(), ("10.0.0.0/8", "172.16.0.0/12")], ids=["direct", "behind-proxy"]
)
def test_nginx_accepts_the_rendered_config(trusted):
    run_dir = Path(tempfile.mkdtemp(prefix="dz-nginx-"))
    try:
        config = run_dir / "nginx.conf"
        config.write_text(
            render.render(run_dir=str(run_dir), listen="127.0.0.1:18080", trusted_proxies=trusted)
        )

        result = subprocess.run(
            ["nginx", "-t", "-c", str(config), "-e", str(run_dir / "error.log")],
            capture_output=True,
            text=True,
            timeout=30,
        )

        assert result.returncode == 0, result.stderr
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
