"""Every tier's backup path as deployed: the CronJob's own command line against a real server,
the tier's retention, then the restore Job of base/storage-server/snapshot-restore-job.yaml.

The command lines come from the rendered manifests; only what a pod network and volumes
would provide is substituted: the interpreter, the server's address, and the directories the
claims are mounted at. Kubernetes itself does not run here (no API server), so the Job's
command runs as a local process on directories standing in for its volumes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from sutra.gitops.images import read_pins
from sutra.gitops.paths import TIERS, crd_schema_dir
from sutra.gitops.policy import PolicySet
from sutra.gitops.validate import DEFAULT_KUBE_VERSIONS, validate_objects
from sutra.storage import snapshots
from sutra.storage.client import StorageClient
from sutra.storage.ids import concept_id_for
from sutra.storage.testing import ServerProcess, run_server

from .test_concurrency import LEAVES, batch_of

REPO = Path(__file__).resolve().parents[2]
RESTORE_JOB = REPO / "base" / "storage-server" / "snapshot-restore-job.yaml"
HUBS = [f"backup hub {i}" for i in range(4)]
# Rules about one pod, which a hand-made Job must pass like any rendered workload. Not
# required_labels: the Job must not carry app.kubernetes.io/instance, Argo CD's tracking label.
POD_RULES = {"security_context", "container_resources", "image_pinned"}


def _find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def _pod(obj: dict[str, Any]) -> dict[str, Any]:
    template = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    return template["template"]["spec"]


def _mounts(obj: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """mountPath -> (volume name, claim name) of the pod's PersistentVolumeClaims."""
    pod = _pod(obj)
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"]
              for v in pod["volumes"] if "persistentVolumeClaim" in v}  # fmt: skip
    (container,) = pod["containers"]
    return {m["mountPath"]: (m["name"], claims[m["name"]])
            for m in container["volumeMounts"] if m["name"] in claims}  # fmt: skip


def _argv(obj: dict[str, Any]) -> list[str]:
    (container,) = _pod(obj)["containers"]
    argv = [*container["command"], *container["args"]]
    assert argv[:3] == ["python", "-m", "sutra.cli"]
    return [sys.executable, *argv[1:]]


def _option(argv: list[str], name: str) -> int:
    return argv.index(name) + 1


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.fixture(scope="module")
def tiers(tier_objects: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The session's one render of each tier (tests/conftest.py)."""
    return tier_objects


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ServerProcess:
    """A server holding a few hubs, each with LEAVES associated leaves."""
    with run_server(tmp_path_factory.mktemp("store") / "data") as server:
        with StorageClient(server.address, timeout=30) as client:
            for hub in HUBS:
                client.learn_batch(*batch_of(hub))
        yield server


@pytest.fixture(scope="module")
def older_snapshot(store: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real snapshot, to stand in for the runs before today's."""
    with StorageClient(store.address, timeout=30) as client:
        info = client.download_snapshot(tmp_path_factory.mktemp("older"))
    return Path(info.path)


def _snapshot_run(job: dict[str, Any], server: ServerProcess, volume: Path) -> list[str]:
    """The CronJob's command line, aimed at `server`, writing onto `volume` (its claim)."""
    argv = _argv(job)
    server_at, to_at = _option(argv, "--server"), _option(argv, "--to")
    assert argv[server_at] == "storage-server:50051"
    assert _mounts(job)[argv[to_at]][1] == "storage-snapshots"
    argv[server_at], argv[to_at] = server.address, str(volume)
    return argv


@pytest.mark.parametrize("tier", TIERS)
def test_the_cronjob_command_snapshots_and_keeps_the_tiers_retention(
    tiers, tier: str, store: ServerProcess, older_snapshot: Path, tmp_path: Path
) -> None:
    job = _find(tiers[tier], "CronJob", "storage-snapshot")
    argv = _snapshot_run(job, store, tmp_path / "snapshots")
    keep = int(argv[_option(argv, "--keep")])
    # The volume already holds `keep` snapshots, one per earlier run, oldest first.
    (tmp_path / "snapshots").mkdir()
    earlier = [tmp_path / "snapshots" / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(h * 3600))
               for h in range(keep)]  # fmt: skip
    for path in earlier:
        shutil.copytree(older_snapshot, path)

    done = _run(argv)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    new = Path(lines[0].split()[0])
    assert lines[1:] == [f"removed {earlier[0]}"]
    assert snapshots.list_snapshots(tmp_path / "snapshots") == [*earlier[1:], new]
    assert snapshots.verify_snapshot(new).concepts == len(HUBS) * (LEAVES + 1)


def test_the_restore_job_brings_back_every_concept_and_edge(
    tiers, store: ServerProcess, tmp_path: Path
) -> None:
    objects = tiers["high"]
    volume = tmp_path / "snapshots"
    volume.mkdir()
    done = _run(_snapshot_run(_find(objects, "CronJob", "storage-snapshot"), store, volume))
    assert done.returncode == 0, done.stderr
    (newest,) = snapshots.list_snapshots(volume)

    # The volume of storage-server-0 still holds a store (say, a damaged one) to replace.
    data = tmp_path / "storage-data"
    with run_server(data) as stale, StorageClient(stale.address) as client:
        client.learn_concept("written after the snapshot")

    # The Job as documented: the two placeholders replaced, like the sed line does.
    statefulset = _find(objects, "StatefulSet", "storage-server")
    image = statefulset["spec"]["template"]["spec"]["containers"][0]["image"]
    text = RESTORE_JOB.read_text().replace("SNAPSHOT_NAME", newest.name)
    job = yaml.safe_load(text.replace("STORAGE_IMAGE", image))
    mounts = _mounts(job)
    (template,) = statefulset["spec"]["volumeClaimTemplates"]
    store_path = next(e["value"] for e in statefulset["spec"]["template"]["spec"]["containers"][0][
        "env"] if e["name"] == "SUTRA_STORAGE_PATH")  # fmt: skip
    assert mounts[store_path][1] == f"{template['metadata']['name']}-storage-server-0"
    assert mounts["/snapshots"][1] == "storage-snapshots"
    argv = _argv(job)
    source, target = _option(argv, "--from"), _option(argv, "--to")
    assert (argv[source], argv[target]) == (f"/snapshots/{newest.name}", store_path)
    argv[source], argv[target] = str(newest), str(data)

    restored = _run(argv)
    assert restored.returncode == 0, restored.stderr
    assert f"{len(HUBS) * (LEAVES + 1)} concepts, {len(HUBS) * LEAVES} associations" in (
        restored.stdout
    )
    with run_server(data) as server, StorageClient(server.address) as client:
        for hub in HUBS:
            neighbors = client.get_neighbors(concept_id_for(hub))
            assert {n.concept_id for n in neighbors} == {
                concept_id_for(f"{hub}/leaf{i}") for i in range(LEAVES)
            }
        assert client.get_concept(concept_id_for("written after the snapshot")) is None
        assert client.stats().concepts == len(HUBS) * (LEAVES + 1)


def test_the_restore_job_is_a_valid_restricted_pod() -> None:
    image = read_pins(REPO / "overlays" / "low")["ghcr.io/sutra-ai/storage-server"].reference
    job = yaml.safe_load(RESTORE_JOB.read_text().replace("STORAGE_IMAGE", image))
    found = validate_objects([job], "restore", DEFAULT_KUBE_VERSIONS, crd_schema_dir(REPO))
    assert [str(v) for v in found] == []
    violations = PolicySet(REPO / "policies").evaluate([job], "low")
    assert [str(v) for v in violations if v.rule in POD_RULES] == []
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        assert "app.kubernetes.io/instance" not in labels
        assert labels["app.kubernetes.io/name"] == "storage-restore"
    # The gate's rules do see it: an unreplaced image is no pinned version.
    unpinned = yaml.safe_load(RESTORE_JOB.read_text())
    rules = {v.rule for v in PolicySet(REPO / "policies").evaluate([unpinned], "low")}
    assert "image_pinned" in rules
