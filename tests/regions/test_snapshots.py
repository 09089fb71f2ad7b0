"""Snapshots in the region's bucket where a replicated tier's writer runs: the job uploads to
the table's location, the followers bootstrap from it, no credential is in any rendered object,
and the writer keeps the log as long as the table says."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from sutra.gitops import region_files, regions, shards, tiers

from .conftest import REPO_ROOT

RETENTION = "SUTRA_STORAGE_STREAM_MAX_AGE_SECONDS"
# An AWS access key id, or a secret key / session token written out anywhere.
CREDENTIAL = re.compile(
    r"\b(AKIA|ASIA)[0-9A-Z]{16}\b|aws_secret_access_key|aws_session_token", re.I
)
KEY_VARIABLES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}


def _replicated(table: dict[str, Any], tier: str) -> bool:
    return table["storage"]["replication"]["log"] in table["tiers"][tier]["workloads"]


def _container(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (obj,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    spec = obj["spec"]["jobTemplate"]["spec"] if kind == "CronJob" else obj["spec"]
    (container,) = spec["template"]["spec"]["containers"]
    return container | {"volumes": spec["template"]["spec"]["volumes"]}


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def _secret_file(container: dict[str, Any], path: str) -> str:
    """The Secret mounted (read-only) where `path` lives."""
    (mount,) = [m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
    assert mount.get("readOnly") is True
    (volume,) = [v for v in container["volumes"] if v["name"] == mount["name"]]
    return volume["secret"]["secretName"]


@pytest.fixture(scope="module")
def buckets(placements, rendered_regions, tier_table) -> dict[regions.Placement, list]:
    """The placements whose snapshots are in a bucket: a replicated tier's primary region."""
    found = {p: rendered_regions[p] for p in placements if p.primary}
    return {p: objs for p, objs in found.items() if _replicated(tier_table, p.tier)}


def test_the_primary_regions_job_uploads_to_its_regions_bucket(buckets, tier_table) -> None:
    assert {p.name for p in buckets} == {"eu-west/medium", "us-east/high"}
    for place, objects in buckets.items():
        row = tier_table["regions"][place.region]["snapshots"]
        total = shards.count(tier_table, place.tier)
        for i in range(total):  # a job per storage shard, each under its own prefix
            container = _container(objects, "CronJob", shards.name("storage-snapshot", i))
            args = container["args"]
            url = args[args.index("--to") + 1]
            tier_url = f"s3://{row['bucket']}/{row['prefix']}/{place.tier}"
            assert url == (f"{tier_url}/shard-{i}" if total > 1 else tier_url), place.name
            assert args[args.index("--server") + 1] == f"{shards.name('storage-server', i)}:50051"
            assert args[args.index("--keep") + 1] == str(
                tier_table["tiers"][place.tier]["backups"]["keep"]
            )
            env = _env(container)
            assert env["AWS_DEFAULT_REGION"] == row["region"]
            credentials = env["AWS_SHARED_CREDENTIALS_FILE"]
            assert _secret_file(container, credentials) == region_files.SNAPSHOT_SECRET
            kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
            assert ("PersistentVolumeClaim", shards.name("storage-snapshots", i)) not in kinds


def test_the_followers_bootstrap_from_the_same_location(buckets, tier_table) -> None:
    for place, objects in buckets.items():
        for i in range(shards.count(tier_table, place.tier)):
            _same_location(place, objects, i)


def _same_location(place: regions.Placement, objects: list[dict[str, Any]], i: int) -> None:
    """Shard I's followers read what shard I's job writes."""
    job = _container(objects, "CronJob", shards.name("storage-snapshot", i))
    url = job["args"][job["args"].index("--to") + 1]
    follower = _container(objects, "StatefulSet", shards.name("storage-replica", i))
    env = _env(follower)
    assert env["SUTRA_STORAGE_SNAPSHOT_DIR"] == url, place.name
    secret = _secret_file(follower, env["AWS_SHARED_CREDENTIALS_FILE"])
    assert secret == region_files.READ_SECRET  # read-only credentials
    # The store is a folder of its volume: a snapshot downloads beside it, not onto "/".
    (data,) = [m for m in follower["volumeMounts"] if m["name"] == "storage-data"]
    assert env["SUTRA_STORAGE_PATH"].startswith(data["mountPath"] + "/")


def test_low_keeps_its_snapshots_on_a_claim(placements, rendered_regions, tier_table) -> None:
    plain = [p for p in placements if p.primary and not _replicated(tier_table, p.tier)]
    assert plain
    for place in plain:
        container = _container(rendered_regions[place], "CronJob", "storage-snapshot")
        assert container["args"][container["args"].index("--to") + 1] == "/snapshots"


def test_no_credential_in_any_rendered_object(rendered_regions, tier_objects) -> None:
    every = [o for objs in [*rendered_regions.values(), *tier_objects.values()] for o in objs]
    assert not [o["metadata"]["name"] for o in every if o["kind"] == "Secret"]
    assert not [m.group(0) for o in every if (m := CREDENTIAL.search(json.dumps(o)))]
    names = {e.get("name") for e in _walk_env(every)}
    assert not names & KEY_VARIABLES


def _walk_env(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [e for e in node.get("env", []) if isinstance(e, dict)]
        return found + [e for k, v in node.items() if k != "env" for e in _walk_env(v)]
    if isinstance(node, list):
        return [e for item in node for e in _walk_env(item)]
    return []


def test_the_writers_retention_matches_the_table(
    placements, rendered_regions, tier_objects, tier_table
) -> None:
    renders = {p.name: (p.tier, rendered_regions[p]) for p in placements if p.primary}
    renders |= {tier: (tier, objs) for tier, objs in tier_objects.items()}
    checked = 0
    for name, (tier, objects) in renders.items():
        backups = tier_table["tiers"][tier]["backups"]
        env = _env(_container(objects, "StatefulSet", tier_table["storage"]["workload"]))
        if not _replicated(tier_table, tier):
            assert RETENTION not in env, name
            continue
        assert env[RETENTION] == str(backups["log_max_age_minutes"] * 60), name
        assert (
            backups["log_max_age_minutes"]
            >= backups["max_age_minutes"] + backups["interval_minutes"]
        )
        checked += 1
    assert checked == 4  # medium and high, and their primary regions


def test_a_replicated_primary_without_a_bucket_is_refused(tmp_path: Path) -> None:
    table = tmp_path / tiers.TABLE
    table.parent.mkdir(parents=True)
    text = (REPO_ROOT / tiers.TABLE).read_text()
    row = "    snapshots: {bucket: sutra-snapshots-eu-west, prefix: storage, region: eu-west-1}\n"
    assert row in text
    table.write_text(text.replace(row, ""))
    shutil.copy(REPO_ROOT / "policies" / "data" / "prices.yaml", table.parent / "prices.yaml")
    with pytest.raises(tiers.TierTableError, match=r"regions\.eu-west\.snapshots: the medium tier"):
        region_files.render(tmp_path)
