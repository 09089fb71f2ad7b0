"""The storage shards of a sharded tier (storage.shards of the tier table; 4 at high), as
rendered: per shard one writer, its Service, snapshot job and followers, each on the shard's
index, count and stream; the readers routed to every shard; and the gate rejecting a render
that loses a shard's writer, runs two writer pods, or has another count."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sutra.gitops import shard_files, shards
from sutra.gitops.paths import policy_dir
from sutra.gitops.policy import PolicySet

READERS = ("sutra-api", "sutra-hybrid", "sutra-control")


def _env(obj: dict[str, Any]) -> dict[str, str]:
    spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    (container,) = spec["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


@pytest.fixture(scope="module")
def sharded(rendered_tiers, tier_table) -> tuple[Any, int]:
    """The sharded tier's render and its shard count (the table has one: high)."""
    found = [t for t in tier_table["tiers"] if shards.count(tier_table, t) > 1]
    assert found, "the tier table runs no sharded tier"
    return rendered_tiers[found[0]], shards.count(tier_table, found[0])


def test_unsharded_tiers_render_no_shard(rendered, tier_table) -> None:
    if shards.count(tier_table, rendered.tier) > 1:
        pytest.skip(f"{rendered.tier} is sharded")
    names = {o["metadata"]["name"] for o in rendered.objects}
    assert not {n for n in names if shards.unsharded(tier_table, n) != n}
    for name in READERS:
        assert shards.SHARDS_ENV not in _env(rendered.get("Deployment", name))
    assert shards.SHARD_ENV not in _env(rendered.get("StatefulSet", "storage-server"))


def test_every_shard_runs_its_own_writer_followers_and_snapshots(sharded, tier_table) -> None:
    rendered, total = sharded
    replicas = tier_table["tiers"][rendered.tier]["workloads"]["storage-replica"]["replicas"]
    for i in range(total):
        want = {
            "SUTRA_STORAGE_SHARD": str(i),
            "SUTRA_STORAGE_SHARD_COUNT": str(total),
            "SUTRA_STORAGE_STREAM": f"SUTRA_STORAGE_{i}",
        }
        writer = rendered.get("StatefulSet", shards.name("storage-server", i))
        assert writer["spec"]["replicas"] == 1
        env = _env(writer)
        assert env.items() >= want.items()
        assert env["SUTRA_STORAGE_ADVERTISE"] == f"{shards.name('storage-server', i)}:50051"
        followers = rendered.get("StatefulSet", shards.name("storage-replica", i))
        assert followers["spec"]["replicas"] == replicas
        assert _env(followers).items() >= (want | {"SUTRA_STORAGE_ROLE": "follower"}).items()
        job = rendered.get("CronJob", shards.name("storage-snapshot", i))
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        args = pod["containers"][0]["args"]
        assert args[args.index("--server") + 1] == f"{shards.name('storage-server', i)}:50051"
        (claim,) = [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
                    if "persistentVolumeClaim" in v]  # fmt: skip
        assert claim == shards.name("storage-snapshots", i)
        for kind, base in shard_files.sources(tier_table, rendered.tier):
            rendered.get(kind, shards.name(base, i))


def test_the_readers_route_to_every_shard_and_its_followers(sharded, tier_table) -> None:
    rendered, total = sharded
    writers = ",".join(f"{shards.name('storage-server', i)}:50051" for i in range(total))
    for name in READERS:
        env = _env(rendered.get("Deployment", name))
        assert env[shards.SHARDS_ENV] == writers
        groups = env[shards.SHARD_READERS_ENV].split(";")
        assert len(groups) == total
        for i, group in enumerate(groups):
            followers = shards.name("storage-replica", i)
            assert all(a.startswith(f"{followers}-") for a in group.split(",")), group


def test_the_shard_files_are_what_the_generator_makes(repo) -> None:
    assert shard_files.FILES.stale(repo) == []


@pytest.fixture(scope="module")
def policy_set(repo) -> PolicySet:
    return PolicySet(policy_dir(repo))


def _broken(rendered, name: str, change) -> list[dict[str, Any]]:
    objects = copy.deepcopy(rendered.objects)
    (target,) = [o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == name]
    if change is None:
        objects.remove(target)
    else:
        change(target)
    return objects


def _set_count(sts: dict[str, Any]) -> None:
    (container,) = sts["spec"]["template"]["spec"]["containers"]
    for env in container["env"]:
        if env["name"] == shards.COUNT_ENV:
            env["value"] = "3"


@pytest.mark.parametrize(
    ("case", "name", "change", "expected"),
    [
        ("writer removed", "storage-server-2", None, "shard 2 of the"),
        ("two writer pods", "storage-server-1", lambda s: s["spec"].update(replicas=2), "2 pods"),
        ("wrong count", "storage-server-3", _set_count, "SUTRA_STORAGE_SHARD_COUNT 3"),
    ],
)
def test_a_broken_shard_is_rejected(policy_set, sharded, case, name, change, expected) -> None:
    rendered, _ = sharded
    found = policy_set.evaluate(_broken(rendered, name, change), rendered.tier)
    messages = [v.message for v in found if v.rule == "storage_shards"]
    assert any(expected in m for m in messages), (case, [str(v) for v in found])
