"""`sutra check` and `sutra render` as a user runs them: a real process on a copy of the tree.

Each mutation below is a mistake the gate exists to stop; the copy lets every test break the
manifests without touching the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from sutra.gitops import tiers
from sutra.gitops.paths import crd_schema_dir

from .conftest import TOKEN_FILE_ENV, TOKEN_SECRET_ENV, drop_digest, edit

CHECKOUT = Path(__file__).resolve().parents[2]
SUTRA = str(Path(sys.executable).parent / "sutra")
CRD_SCHEMAS = str(crd_schema_dir(CHECKOUT))

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def repo(gitops_checkout: Path) -> Path:
    return gitops_checkout


@pytest.fixture
def sutra(repo: Path, tmp_path: Path) -> Run:
    """Run the console script against the copy (SUTRA_REPO_ROOT), from an unrelated folder."""

    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SUTRA_")}
        environ |= {"SUTRA_REPO_ROOT": str(repo), "SUTRA_CRD_SCHEMA_DIR": CRD_SCHEMAS, **env}
        return subprocess.run(
            [SUTRA, *args], cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=300
        )

    return run


def test_the_clean_tree_passes(sutra: Run) -> None:
    done = sutra("check")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert (
        lines[-1] == "3 tiers, 5 region overlays, regions/, argocd/ and gatekeeper/ checked: clean"
    )
    # medium and high add the prometheus-adapter rules of their traffic signals, the Redis
    # cache (Deployment, Service, ServiceAccount, NetworkPolicy) and the replicated store (13:
    # the log's 7 objects, the followers' 6). A region adds the client's Ingress; where it is not
    # the storage primary it drops the writer, its snapshot job, volume, accounts,
    # NetworkPolicies and ServiceMonitor (8) and the log and the followers (13), and adds
    # NetworkPolicy storage-remote. The primary of a replicated tier sends its snapshots to the
    # region's bucket, so it drops the snapshot volume. High's 4 storage shards add 11 objects
    # per shard i >= 1 (writer, Service, NetworkPolicy, ServiceMonitor, snapshot job and volume;
    # followers, Service, budget, NetworkPolicy, ServiceMonitor): 92 = 59 + 3 x 11; us-east/high:
    # 89 = 92 + 1 - 4 volumes; eu-west/high keeps each shard's Service as an ExternalName: 43.
    for tier, count in (("low", 41), ("medium", 59), ("high", 92)):
        assert f"{tier}: {count} objects" in lines
    for overlay, count in (("eu-west/low", 42), ("us-east/high", 89), ("eu-west/high", 43)):
        assert f"{overlay}: {count} objects" in lines
    assert "  us-east: medium, high (storage primary)" in lines
    # (aligned with the longest name, storage-replica-3)
    assert "  sutra-api          Deployment   replicas 20-50 (HPA)" in lines
    assert any(line.strip().startswith("requests at minimum") for line in lines)
    assert done.stderr == ""


def test_quiet_prints_only_the_verdict_when_clean(sutra: Run) -> None:
    done = sutra("check", "--quiet", "low", "--kube-version", "1.37.0")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "1 tier, 1 region overlay, regions/, argocd/ and gatekeeper/ checked: clean"
    ]


# (file, old, new, tier that must fail, rule that must be named)
MUTATIONS = {
    "storage replicas 2": (
        "overlays/low/tier.yaml",
        "  name: storage-server\nspec:\n  replicas: 1",
        "  name: storage-server\nspec:\n  replicas: 2",
        "low StatefulSet/storage-server",
        "storage_single_writer",
    ),
    "a removed memory limit": (
        "base/sutra-hybrid/deployment.yaml",
        '            limits:\n              cpu: "2"\n              memory: 4Gi\n',
        '            limits:\n              cpu: "2"\n',
        "low Deployment/sutra-hybrid",
        "container_resources",
    ),
    "a latest tag": (
        "overlays/medium/kustomization.yaml",
        '  - name: ghcr.io/sutra-ai/sutra-api\n    newTag: "0.1.0"',
        '  - name: ghcr.io/sutra-ai/sutra-api\n    newTag: "latest"',
        "medium Deployment/sutra-api",
        "image_pinned",
    ),
    "replicas on an HPA-managed Deployment": (
        "overlays/high/tier.yaml",
        "  name: sutra-control\nspec:\n  replicas: 2\n",
        "  name: sutra-control\nspec:\n  replicas: 2\n---\napiVersion: apps/v1\n"
        "kind: Deployment\nmetadata:\n  name: sutra-api\nspec:\n  replicas: 20\n",
        "high Deployment/sutra-api",
        "hpa_no_replicas",
    ),
    "an HPA range off the table": (
        "overlays/high/tier.yaml",
        "  minReplicas: 20\n  maxReplicas: 50",
        "  minReplicas: 20\n  maxReplicas: 60",
        "high HorizontalPodAutoscaler/sutra-api",
        "hpa_range",
    ),
    "a missing PDB": (
        "base/sutra-hybrid/kustomization.yaml",
        "  - pdb.yaml\n",
        "",
        "low Deployment/sutra-hybrid",
        "pdb_required",
    ),
    "a secret in an env value": (
        "base/sutra-control/deployment.yaml",
        TOKEN_FILE_ENV,
        TOKEN_SECRET_ENV,
        "medium Deployment/sutra-control",
        "secrets_as_files",
    ),
}


@pytest.mark.parametrize("mistake", list(MUTATIONS))
def test_each_mistake_fails_the_gate_and_names_its_rule(
    sutra: Run, repo: Path, mistake: str
) -> None:
    path, old, new, where, rule = MUTATIONS[mistake]
    edit(repo / path, old, new)
    done = sutra("check", "--quiet")
    assert done.returncode == 1, done.stdout + done.stderr
    violations = [line for line in done.stdout.splitlines() if line.endswith("]")]
    assert any(v.startswith(where + ":") and v.endswith(f"[{rule}]") for v in violations), (
        done.stdout
    )
    assert " violation" in done.stdout.splitlines()[-1]


def test_a_tag_without_its_digest_fails_the_gate(sutra: Run, repo: Path) -> None:
    drop_digest(repo, "high", "sutra-client")
    done = sutra("check", "--quiet", "high")
    assert done.returncode == 1, done.stdout + done.stderr
    # The tier, and each region overlay built on it.
    violations = [line for line in done.stdout.splitlines() if line.endswith("]")]
    assert [v.split(" ")[0] for v in violations] == ["high", "eu-west/high", "us-east/high"]
    for target, violation in zip(("high", "eu-west/high", "us-east/high"), violations, strict=True):
        assert violation.startswith(f"{target} Deployment/sutra-client: container sutra-client ")
        assert "is not pinned by digest" in violation and violation.endswith("[image_pinned]")


def test_a_schema_error_is_reported_as_a_violation(sutra: Run, repo: Path) -> None:
    edit(repo / "base/sutra-client/service.yaml", "  type: ClusterIP\n", "  typo: ClusterIP\n")
    done = sutra("check", "--quiet")
    assert done.returncode == 1
    for tier in tiers.names(repo):
        assert any(
            line.startswith(f"{tier} Service/sutra-client: spec:") and line.endswith("[schema]")
            for line in done.stdout.splitlines()
        ), done.stdout


def test_a_broken_argocd_object_is_reported(sutra: Run, repo: Path) -> None:
    edit(repo / "argocd/applicationset.yaml", "  goTemplate: true\n", "  goTemplate: yes-please\n")
    done = sutra("check", "--quiet", "low")
    assert done.returncode == 1
    assert any(
        line.startswith("argocd ApplicationSet/sutra: spec.goTemplate") for line in
        done.stdout.splitlines()
    ), done.stdout  # fmt: skip


def test_a_broken_bootstrap_object_is_reported(sutra: Run, repo: Path) -> None:
    """argocd/bootstrap/ is applied by hand, so the gate is its only review."""
    edit(repo / "argocd/bootstrap/root.yaml", "    path: argocd\n", "    pathh: argocd\n")
    done = sutra("check", "--quiet", "low")
    assert done.returncode == 1
    assert any(
        line.startswith("argocd Application/sutra-root: spec.source") and "pathh" in line
        for line in done.stdout.splitlines()
    ), done.stdout


def test_a_missing_gatekeeper_folder_fails_the_gate(sutra: Run, repo: Path) -> None:
    shutil.rmtree(repo / "gatekeeper")
    done = sutra("check", "--quiet", "low")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "gatekeeper File/gatekeeper/: is missing: run `sutra gatekeeper generate` [generated]",
        "1 violation in 1 of 1 tier, 1 region overlay, regions/, argocd/ and gatekeeper/ "
        "(gatekeeper)",
    ]


def test_an_object_outside_the_namespace_fails_the_gate(sutra: Run, repo: Path) -> None:
    """The sutra project may deploy into monitoring; the gate lets only listed objects there."""
    (repo / "overlays/medium/stray.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stray, namespace: monitoring}\n"
    )
    edit(repo / "overlays/medium/kustomization.yaml", "  - ../../base\n",
         "  - ../../base\n  - stray.yaml\n")  # fmt: skip
    done = sutra("check", "--quiet", "medium")
    assert done.returncode == 1
    violations = [line for line in done.stdout.splitlines() if line.endswith("]")]
    assert len(violations) == 3, done.stdout
    for target, violation in zip(("medium", "eu-west/medium", "us-east/medium"), violations,
                                 strict=True):  # fmt: skip
        assert violation.startswith(f"{target} ConfigMap/stray: ConfigMap stray is in namespace ")
        assert violation.endswith("[namespace_scope]")


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_a_broken_kustomization_is_a_tool_error_with_kustomizes_message(
    sutra: Run, repo: Path
) -> None:
    edit(repo / "overlays/medium/kustomization.yaml", "  - ../../base\n", "  - ../../bsae\n")
    line = _one_line_error(sutra("check"))
    assert line.startswith("sutra check: error: kustomize ")
    assert "overlays/medium" in line
    assert "bsae" in line


def test_an_unknown_tier_is_a_usage_error(sutra: Run) -> None:
    line = _one_line_error(sutra("check", "low", "huge"))
    assert "unknown tier 'huge'" in line


def test_an_unsupported_kubernetes_version_is_a_usage_error(sutra: Run) -> None:
    assert "1.99" in _one_line_error(sutra("check", "--kube-version", "1.99.0"))
    assert "1.98" in _one_line_error(sutra("check", SUTRA_KUBE_VERSIONS="1.37.0,1.98.0"))


def test_a_missing_crd_schema_folder_is_a_tool_error(sutra: Run, tmp_path: Path) -> None:
    line = _one_line_error(sutra("check", SUTRA_CRD_SCHEMA_DIR=str(tmp_path / "nowhere")))
    assert "CRD schema folder" in line


def test_render_prints_the_tier_as_yaml(sutra: Run) -> None:
    done = sutra("render", "medium")
    assert done.returncode == 0, done.stderr
    objects = [o for o in yaml.safe_load_all(done.stdout) if o]
    assert len(objects) == 59  # low's 41, the adapter rules, the Redis cache, the replicated store
    hpa = next(o for o in objects if o["kind"] == "HorizontalPodAutoscaler"
               and o["metadata"]["name"] == "sutra-api")  # fmt: skip
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (10, 25)


def test_render_of_an_unknown_tier_is_a_usage_error(sutra: Run) -> None:
    assert "unknown tier 'huge'" in _one_line_error(sutra("render", "huge"))
