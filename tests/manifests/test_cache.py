"""The /reason cache per tier: Redis in medium and high (components/redis), none in low."""

from __future__ import annotations

import copy
from urllib.parse import urlsplit

import pytest

from sutra.api.settings import ApiSettings
from sutra.gitops.paths import policy_dir
from sutra.gitops.policy import PolicySet
from sutra.gitops.quantities import parse_quantity

from .test_network_policies import MONITORING, OUTSIDE, _pods, _stranger, can_connect

CACHE = "sutra-redis"
NAME = "app.kubernetes.io/name"
# The tiers that run it (the first test checks this against the tier table).
CACHED = pytest.mark.parametrize("tier", ["medium", "high"])


def _cached(tier_table: dict, tier: str) -> bool:
    return CACHE in tier_table["tiers"][tier]["workloads"]


def _api_env(rendered) -> dict[str, str]:
    (c,) = rendered.get("Deployment", "sutra-api")["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value") for e in c["env"]}


def _redis(rendered) -> dict:
    (c,) = rendered.get("Deployment", CACHE)["spec"]["template"]["spec"]["containers"]
    return c


def test_the_cache_runs_in_medium_and_high_only(rendered_tiers, tier_table: dict) -> None:
    assert [t for t in rendered_tiers if _cached(tier_table, t)] == ["medium", "high"]
    for tier, rendered in rendered_tiers.items():
        objects = {o["kind"] for o in rendered.objects if o["metadata"]["name"] == CACHE}
        if _cached(tier_table, tier):
            assert objects == {"Deployment", "Service", "ServiceAccount", "NetworkPolicy"}
            assert rendered.get("Deployment", CACHE)["spec"]["replicas"] == 1
            assert rendered.find("HorizontalPodAutoscaler", CACHE) is None
        else:
            assert objects == set()
            assert "SUTRA_REDIS_URL" not in _api_env(rendered)  # the in-process cache


@CACHED
def test_the_api_points_at_the_cache_service(rendered) -> None:
    url = _api_env(rendered)["SUTRA_REDIS_URL"]
    assert ApiSettings(redis_url=url).redis_url == url  # the API accepts it
    parts = urlsplit(url)
    assert (parts.scheme, parts.path) == ("redis", "/0")
    service = rendered.get("Service", parts.hostname)
    (port,) = [p for p in service["spec"]["ports"] if p["port"] == parts.port]
    container = _redis(rendered)
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert named[port["targetPort"]] == 6379
    labels = rendered.get("Deployment", CACHE)["spec"]["template"]["metadata"]["labels"]
    assert all(labels[k] == v for k, v in service["spec"]["selector"].items())


@CACHED
def test_the_cache_keeps_nothing_and_fits_its_memory_limit(rendered) -> None:
    container = _redis(rendered)
    assert container["command"] == ["redis-server"]
    args = container["args"]
    options = dict(zip(args[::2], args[1::2], strict=True))
    assert options["--save"] == "" and options["--appendonly"] == "no"
    assert options["--maxmemory-policy"] == "volatile-lru"  # never the generation key
    maxmemory = parse_quantity(options["--maxmemory"].removesuffix("mb") + "Mi")
    limit = parse_quantity(container["resources"]["limits"]["memory"])
    assert parse_quantity(container["resources"]["requests"]["memory"]) == limit
    assert limit / 2 <= maxmemory <= limit * 4 / 5
    repository, _, tag = container["image"].partition("@")[0].rpartition(":")
    assert repository == "redis" and tag.endswith("-alpine") and tag[0].isdigit()
    assert container["readinessProbe"]["exec"]["command"][-1] == "ping"
    assert container["livenessProbe"]["tcpSocket"]["port"] == "redis"


@CACHED
def test_only_the_api_reaches_the_cache(rendered) -> None:
    policies = rendered.of_kind("NetworkPolicy")
    pods = _pods(rendered)
    (cache,) = [p for p in pods if p.name == CACHE]
    reaching = {p.name for p in pods if p is not cache and can_connect(policies, p, cache, 6379)}
    assert reaching == {"sutra-api"}
    for outsider in (_stranger(OUTSIDE), _stranger(MONITORING), _stranger({})):
        assert not can_connect(policies, outsider, cache, 6379)
    # Each half matters: without the API's egress rule, or the cache's own policy, it breaks.
    (api,) = [p for p in pods if p.name == "sutra-api"]
    no_egress = copy.deepcopy(policies)
    (api_policy,) = [p for p in no_egress if p["metadata"]["name"] == "sutra-api"]
    api_policy["spec"]["egress"] = [
        rule for rule in api_policy["spec"]["egress"]
        if rule["to"][0]["podSelector"].get("matchLabels", {}).get(NAME) != CACHE
    ]  # fmt: skip
    assert not can_connect(no_egress, api, cache, 6379)
    no_policy = [p for p in policies if p["metadata"]["name"] not in (CACHE, "default-deny")]
    assert can_connect(no_policy, _stranger(OUTSIDE), cache, 6379)


def test_the_gate_rejects_the_cache_in_low(rendered_tiers, repo) -> None:
    """medium's objects judged as low: the cache is a workload low's table row does not have."""
    policies = PolicySet(policy_dir(repo))
    medium = rendered_tiers["medium"].objects
    assert [str(v) for v in policies.evaluate(medium, "medium")] == []
    found = {(v.rule, v.kind, v.name) for v in policies.evaluate(medium, "low")}
    assert ("tier_workloads", "Deployment", CACHE) in found
