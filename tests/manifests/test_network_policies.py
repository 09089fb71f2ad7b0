"""NetworkPolicies, evaluated: which pod may open which port of which pod.

Reachability is computed from the rendered policies the way Kubernetes does: a connection
needs an egress allowance on the source (if any policy selects it for Egress) and an ingress
allowance on the destination (if any policy selects it for Ingress). Ports are named in the
policies by number; the model resolves names too.
"""

from __future__ import annotations

from typing import Any

from sutra.gitops import shards

NAMESPACE = "sutra-ai"
OUTSIDE = {"kubernetes.io/metadata.name": "ingress-nginx"}
MONITORING = {"kubernetes.io/metadata.name": "monitoring"}

# Every flow the architecture needs, and nothing else, inside the namespace.
INTERNAL_FLOWS = {
    ("sutra-client", "sutra-api", 8000),
    ("sutra-api", "sutra-hybrid", 8001),
    ("sutra-api", "storage-server", 50051),
    ("sutra-hybrid", "storage-server", 50051),
    ("sutra-control", "storage-server", 50051),
    ("storage-snapshot", "storage-server", 50051),
    ("sutra-control", "storage-server", 9091),
    ("sutra-control", "sutra-api", 8000),
    ("sutra-control", "sutra-hybrid", 8001),
    ("sutra-control", "sutra-client", 8080),
}
# Tiers that run the shared cache (medium, high) add exactly this flow.
CACHE_FLOWS = {("sutra-api", "sutra-redis", 6379)}
# Tiers that run the replicated store (medium, high) add exactly these: the writer and the
# followers reach the log's client port, the readers the followers' gRPC port (the log's own
# cluster port, between its pods, is checked in test_replication.py).
REPLICATION_FLOWS = {
    ("storage-server", "nats", 4222), ("storage-replica", "nats", 4222),
    ("sutra-api", "storage-replica", 50051), ("sutra-hybrid", "storage-replica", 50051),
    ("sutra-control", "storage-replica", 50051),
}  # fmt: skip
FROM_OUTSIDE = {("sutra-client", 8080), ("sutra-api", 8000), ("sutra-control", 9000)}
FROM_MONITORING = {
    ("sutra-client", 8080), ("sutra-api", 8000), ("sutra-hybrid", 8001),
    ("sutra-control", 9000), ("storage-server", 9091),
}  # fmt: skip


def matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (an empty selector matches everything)."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


class Pod:
    def __init__(self, name: str, labels: dict[str, str], ports: dict[str, int], ns: dict):
        self.name, self.labels, self.ports, self.ns_labels = name, labels, ports, ns


def _peer_matches(peer: dict[str, Any], pod: Pod) -> bool:
    if "ipBlock" in peer:
        return False  # the model has no IPs; these policies use no ipBlock
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], pod.ns_labels):
            return False
    elif pod.ns_labels.get("kubernetes.io/metadata.name") != NAMESPACE:
        return False
    return matches(peer.get("podSelector"), pod.labels) if "podSelector" in peer else True


def _port_matches(rule_ports: list[dict[str, Any]] | None, target: Pod, port: int) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != "TCP":
            continue
        wanted = p.get("port")
        number = target.ports.get(wanted) if isinstance(wanted, str) else wanted
        end = p.get("endPort", number)
        if wanted is None or (number is not None and number <= port <= end):
            return True
    return False


def _allowed(policies, pod: Pod, direction: str, peer: Pod, target: Pod, port: int) -> bool:
    policy_type, key, peers_key = (
        ("Egress", "egress", "to") if direction == "egress" else ("Ingress", "ingress", "from")
    )
    if pod.ns_labels.get("kubernetes.io/metadata.name") != NAMESPACE:
        return True  # other namespaces are not governed by these policies
    selecting = [
        p for p in policies
        if policy_type in p["spec"].get("policyTypes", ["Ingress"])
        and matches(p["spec"]["podSelector"], pod.labels)
    ]  # fmt: skip
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if (not peers or any(_peer_matches(x, peer) for x in peers)) and _port_matches(
                rule.get("ports"), target, port
            ):
                return True
    return False


def can_connect(policies, source: Pod, target: Pod, port: int) -> bool:
    return _allowed(policies, source, "egress", target, target, port) and _allowed(
        policies, target, "ingress", source, target, port
    )


def _pods(rendered) -> list[Pod]:
    ns = {"kubernetes.io/metadata.name": NAMESPACE}
    pods = []
    for owner, template in rendered.pod_templates():
        ports = {
            p.get("name", str(p["containerPort"])): p["containerPort"]
            for c in template["spec"]["containers"] for p in c.get("ports", [])
        }  # fmt: skip
        pods.append(Pod(owner["metadata"]["name"], template["metadata"]["labels"], ports, ns))
    return pods


def _stranger(ns_labels: dict[str, str]) -> Pod:
    return Pod("stranger", {"app": "whatever"}, {}, ns_labels)


def test_default_deny_covers_every_pod_in_both_directions(rendered) -> None:
    deny = [
        p for p in rendered.of_kind("NetworkPolicy")
        if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    ]  # fmt: skip
    assert len(deny) == 1


def test_pods_talk_exactly_along_the_architecture(rendered, tier_table) -> None:
    policies = rendered.of_kind("NetworkPolicy")
    pods = _pods(rendered)
    allowed = {
        (src.name, dst.name, port)
        for src in pods for dst in pods for port in dst.ports.values()
        if src is not dst and can_connect(policies, src, dst, port)
    }  # fmt: skip
    workloads = tier_table["tiers"][rendered.tier]["workloads"]
    cached = "sutra-redis" in workloads
    replicated = tier_table["storage"]["replication"]["log"] in workloads
    flows = INTERNAL_FLOWS | (REPLICATION_FLOWS if replicated else set())
    assert allowed == flows | (CACHE_FLOWS if cached else set()) | _shard_flows(
        flows, shards.count(tier_table, rendered.tier)
    )


def _shard_flows(flows: set, total: int) -> set:
    """What shards 1..N-1 of a sharded tier add: each shard's store talks as shard 0's does,
    but for the dashboard's metrics (shard 0's only); every shard's snapshot job carries the
    one snapshot label, so each may reach every shard's writer."""
    stores, job = ("storage-server", "storage-replica"), "storage-snapshot"
    found = set()
    for i in range(1, total):
        for src, dst, port in flows:
            if (src, dst, port) == ("sutra-control", "storage-server", 9091) or src == job:
                continue
            if src in stores or dst in stores:
                name = {n: shards.name(n, i) for n in stores}
                found.add((name.get(src, src), name.get(dst, dst), port))
    if total > 1:
        found |= {
            (shards.name(job, i), shards.name("storage-server", k), 50051)
            for i in range(total)
            for k in range(total)
        }
    return found - flows


def test_only_the_storage_clients_reach_the_storage_grpc_port(rendered, tier_table) -> None:
    policies = rendered.of_kind("NetworkPolicy")
    pods = _pods(rendered)
    workload = tier_table["storage"]["workload"]
    writers = [p for p in pods if shards.unsharded(tier_table, p.name) == workload]
    assert len(writers) == shards.count(tier_table, rendered.tier)
    port = tier_table["storage"]["port"]
    for storage in writers:  # every shard's writer; a shard's snapshot job counts as the job
        reaching = {
            shards.unsharded(tier_table, p.name)
            for p in pods
            if p is not storage and can_connect(policies, p, storage, port)
        }
        assert reaching == set(tier_table["storage"]["clients"]), storage.name
        for outsider in (_stranger(OUTSIDE), _stranger(MONITORING), _stranger({})):
            assert not can_connect(policies, outsider, storage, port)


def test_the_outside_reaches_only_the_public_ports(rendered, tier_table) -> None:
    policies = rendered.of_kind("NetworkPolicy")
    followers = tier_table["storage"]["replication"]["followers"]
    scraped = {(followers, 9091)} if rendered.find("StatefulSet", followers) else set()
    scraped |= {  # every shard's store, as shard 0's
        (shards.name(name, i), port)
        for name, port in scraped | {("storage-server", 9091)}
        for i in range(1, shards.count(tier_table, rendered.tier))
    }
    for labels, expected in ((OUTSIDE, FROM_OUTSIDE), (MONITORING, FROM_MONITORING | scraped)):
        reached = {
            (dst.name, port)
            for dst in _pods(rendered) for port in dst.ports.values()
            if can_connect(policies, _stranger(labels), dst, port)
        }  # fmt: skip
        assert reached == expected, labels


def test_every_pod_may_resolve_names_and_nothing_else_leaves(rendered) -> None:
    policies = rendered.of_kind("NetworkPolicy")
    dns = Pod("coredns", {"k8s-app": "kube-dns"}, {"dns": 53},
              {"kubernetes.io/metadata.name": "kube-system"})  # fmt: skip
    elsewhere = Pod("web", {"app": "web"}, {"https": 443}, OUTSIDE)
    for pod in _pods(rendered):
        assert can_connect(policies, pod, dns, 53), pod.name
        assert not can_connect(policies, pod, elsewhere, 443), pod.name


def test_the_model_denies_when_a_policy_is_missing(rendered) -> None:
    """Guard for the model itself: dropping storage's own policy leaves only egress rules, so
    a pod without an egress policy (a stranger) could reach it, and the test above would fail."""
    policies = [p for p in rendered.of_kind("NetworkPolicy")
                if p["metadata"]["name"] not in ("storage-server", "default-deny")]  # fmt: skip
    (storage,) = [p for p in _pods(rendered) if p.name == "storage-server"]
    assert can_connect(policies, _stranger(OUTSIDE), storage, 50051)
