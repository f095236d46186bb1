"""The NetworkPolicies deny by default and allow only the traffic DZDesk needs, checked by
evaluating the rendered policies for each pod (the API's semantics, no cluster needed)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from deploy_test_support import LAYERS, SERVICE_PORTS, SERVICES, build, by_kind

DNS = {"kubernetes.io/metadata.name": "kube-system"}, {"k8s-app": "kube-dns"}
MONITORING = {"kubernetes.io/metadata.name": "monitoring"}


@dataclass(frozen=True)
class Pod:
    labels: dict
    namespace: str | None = None  # None: DZDesk's own namespace
    namespace_labels: dict = field(default_factory=dict)
    ports: dict = field(default_factory=dict)  # port name -> number


OUTSIDE = None  # an address outside the cluster (a managed database, a cloud API)


def selects(selector: dict, labels: dict) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def peer_matches(peer: dict, other: Pod | None) -> bool:
    if other is OUTSIDE:
        return "ipBlock" in peer
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        if other.namespace is None or not selects(
            peer["namespaceSelector"], other.namespace_labels
        ):
            return False
    elif other.namespace is not None:
        return False
    return selects(peer.get("podSelector", {}), other.labels)


def port_matches(ports, port: int, protocol: str, target: Pod | None) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):
            wanted = target.ports.get(wanted) if target is not OUTSIDE else None
        if wanted == port:
            return True
    return False


def direction_allows(policies, pod: Pod, kind: str, other, port, protocol, port_owner) -> bool:
    key, peers_key = ("egress", "to") if kind == "Egress" else ("ingress", "from")
    selecting = [
        policy
        for policy in policies
        if kind in policy["spec"]["policyTypes"]
        and selects(policy["spec"]["podSelector"], pod.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(key, []):
            peers = rule.get(peers_key)
            if peers is not None and not any(peer_matches(peer, other) for peer in peers):
                continue
            if port_matches(rule.get("ports"), port, protocol, port_owner):
                return True
    return False


def allowed(policies, source, target, port, protocol="TCP") -> bool:
    """source/target: a Pod, or OUTSIDE; a Pod in another namespace has no policies here."""
    egress = (
        source is OUTSIDE
        or source.namespace is not None
        or direction_allows(policies, source, "Egress", target, port, protocol, target)
    )
    ingress = (
        target is OUTSIDE
        or target.namespace is not None
        or direction_allows(policies, target, "Ingress", source, port, protocol, target)
    )
    return egress and ingress


def pods(rendered) -> dict[str, Pod]:
    found = {}
    for workload in [*by_kind(rendered, "Deployment").values(), *by_kind(rendered, "Job").values()]:
        template = workload["spec"]["template"]
        ports = {
            port["name"]: port["containerPort"]
            for spec in template["spec"]["containers"]
            for port in spec.get("ports", [])
            if "name" in port
        }
        labels = template["metadata"]["labels"]
        found[labels["app.kubernetes.io/name"]] = Pod(labels=labels, ports=ports)
    return found


@pytest.fixture(scope="module", params=LAYERS)
def cluster(request):
    rendered = build(request.param)
    return list(by_kind(rendered, "NetworkPolicy").values()), pods(rendered)


def test_everything_is_denied_by_default(cluster):
    policies, _ = cluster
    (deny,) = [policy for policy in policies if policy["metadata"]["name"] == "default-deny"]
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_every_pod_is_isolated_both_ways(cluster):
    policies, found = cluster
    for pod in found.values():
        for kind in ("Ingress", "Egress"):
            assert any(
                kind in policy["spec"]["policyTypes"]
                and selects(policy["spec"]["podSelector"], pod.labels)
                for policy in policies
            )


def test_the_gateway_reaches_each_service_on_its_port_and_nothing_else_there(cluster):
    policies, found = cluster
    for name in SERVICES:
        assert allowed(policies, found["gateway"], found[name], SERVICE_PORTS[name])
        assert not allowed(policies, found["gateway"], found[name], 5432)
    assert not allowed(policies, found["gateway"], OUTSIDE, 5432)
    assert not allowed(policies, found["gateway"], OUTSIDE, 443)


def test_only_the_gateway_takes_requests_from_outside_the_namespace(cluster):
    policies, found = cluster
    controller = Pod(labels={"app": "ingress-controller"}, namespace="ingress", namespace_labels={})
    assert allowed(policies, controller, found["gateway"], 8080)
    assert not allowed(policies, controller, found["gateway"], 9000)
    for name in SERVICES:
        assert not allowed(policies, controller, found[name], SERVICE_PORTS[name])


def test_prometheus_may_scrape_the_services(cluster):
    policies, found = cluster
    prometheus = Pod(
        labels={"app": "prometheus"}, namespace="monitoring", namespace_labels=MONITORING
    )
    for name in SERVICES:
        assert allowed(policies, prometheus, found[name], SERVICE_PORTS[name])


def test_services_call_each_other_over_http_only_for_identitys_jwks(cluster):
    policies, found = cluster
    for source in SERVICES:
        assert allowed(policies, found[source], found["identity"], SERVICE_PORTS["identity"])
        for target in SERVICES:
            if target != "identity":
                assert not allowed(policies, found[source], found[target], SERVICE_PORTS[target])


def test_services_reach_postgresql_and_rabbitmq_but_no_other_backend(cluster):
    policies, found = cluster
    for name in SERVICES:
        assert allowed(policies, found[name], OUTSIDE, 5432)
        assert allowed(policies, found[name], OUTSIDE, 5672)
        for port in (15672, 6379, 80, 25, 9200):
            assert not allowed(policies, found[name], OUTSIDE, port), (name, port)


def test_only_notifications_reaches_an_smtp_relay_on_the_submission_ports(cluster):
    policies, found = cluster
    for name in SERVICES:
        for port in (587, 465):
            assert allowed(policies, found[name], OUTSIDE, port) == (name == "notifications")


def test_https_out_is_open_for_identity_ai_integrations_and_the_kubernetes_api(cluster):
    policies, found = cluster
    # integrations' webhook deliveries go to receivers anywhere on the internet; ticketing's
    # attachments to the Azure storage account
    for name in ("identity", "ai", "ticketing", "integrations"):
        assert any(
            policy["metadata"]["name"] == "external-https"
            and selects(policy["spec"]["podSelector"], found[name].labels)
            for policy in policies
        )
        assert allowed(policies, found[name], OUTSIDE, 443)
    for name in SERVICES:
        assert allowed(policies, found[name], OUTSIDE, 6443)


def test_migrations_reach_only_postgresql_and_broker_setup_only_the_management_api(cluster):
    policies, found = cluster
    for name in SERVICES:
        migrate = found[f"{name}-migrate"]
        assert allowed(policies, migrate, OUTSIDE, 5432)
        for port in (5672, 15672, 443, 8001):
            assert not allowed(policies, migrate, OUTSIDE, port)
        assert not allowed(policies, migrate, found["identity"], 8001)
    assert allowed(policies, found["broker-setup"], OUTSIDE, 15672)
    assert not allowed(policies, found["broker-setup"], OUTSIDE, 5432)


def test_every_pod_resolves_names(cluster):
    policies, found = cluster
    dns = Pod(labels=DNS[1], namespace="kube-system", namespace_labels=DNS[0])
    for pod in found.values():
        assert allowed(policies, pod, dns, 53, "UDP")
        assert allowed(policies, pod, dns, 53, "TCP")
