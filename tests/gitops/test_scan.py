"""`sutra scan`: the real checkov over the real rendered tiers, clean on this checkout and
failing, naming the check, on a copy with a mistake it exists to stop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sutra import cli
from sutra.gitops import tiers
from sutra.gitops.scan import ScanError, collect, run_checkov
from sutra.gitops.tools import find_tool

from .conftest import drop_digest, edit, put_the_token_back_into_env

CHECKOUT = Path(__file__).resolve().parents[2]
SUTRA = str(Path(sys.executable).parent / "sutra")
DIGEST = "CKV_K8S_43 Image should use digest"
PULL_POLICY = "CKV_K8S_15 Image Pull Policy should be Always"
SECRET_ENV = "CKV_K8S_35 Prefer using secrets as files over secrets as environment variables"
# The checkov that tools/requirements.txt pins, which every run must be.
(CHECKOV_VERSION,) = [
    line.split("==")[1].strip()
    for line in (CHECKOUT / "tools" / "requirements.txt").read_text().splitlines()
    if line.startswith("checkov==")
]


@pytest.fixture
def copy(gitops_checkout: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the GitOps tree (SUTRA_REPO_ROOT), scanned by this checkout's checkov."""
    monkeypatch.setenv("SUTRA_CHECKOV", find_tool("checkov", CHECKOUT))
    return gitops_checkout


def scan(capsys: pytest.CaptureFixture, *tiers: str) -> tuple[int, list[str], str]:
    code = cli.main(["scan", *tiers])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def failures(lines: list[str]) -> set[str]:
    return {line for line in lines if line.split(" ", 1)[0] in tiers.names(CHECKOUT)}


def test_every_tier_of_the_checkout_is_clean() -> None:
    """As `make lint` runs it: from the checkout, with the checkov of its .tools/venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("SUTRA_REPO_ROOT", "SUTRA_CHECKOV")}
    done = subprocess.run(
        [SUTRA, "scan"], cwd=CHECKOUT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    names = tiers.names(CHECKOUT)
    for tier, line in zip(names, lines[: len(names)], strict=True):
        assert line.startswith(f"{tier}: ") and line.endswith(" passed, 0 failed, 0 skipped"), line
        assert int(line.split()[1]) > 500  # every object was scanned, not an empty file
    assert lines[-1] == f"{len(names)} tiers scanned by checkov {CHECKOV_VERSION}: clean"


def test_a_tag_without_its_digest_fails_naming_the_check(copy: Path, capsys) -> None:
    drop_digest(copy, "medium", "storage-server")
    code, lines, _ = scan(capsys)
    assert code == 1
    # The server's image runs in the StatefulSet, in the snapshot CronJob and (medium) in the
    # read followers. Without a digest the pull policy IfNotPresent may also run a stale copy
    # (with one, it cannot).
    workloads = (
        "StatefulSet/storage-server",
        "CronJob/storage-snapshot",
        "StatefulSet/storage-replica",
    )
    assert failures(lines) == {
        f"medium {workload}: {check}" for workload in workloads for check in (DIGEST, PULL_POLICY)
    }
    assert lines[0].endswith(" 0 failed, 0 skipped") and lines[2].endswith(" 0 failed, 0 skipped")
    assert lines[1].endswith(" 6 failed, 0 skipped")
    assert lines[-1] == f"3 tiers scanned by checkov {CHECKOV_VERSION}: 6 failed checks"


def test_a_secret_in_an_env_value_fails_naming_the_check(copy: Path, capsys) -> None:
    put_the_token_back_into_env(copy)
    code, lines, _ = scan(capsys, "low")
    assert code == 1
    assert failures(lines) == {f"low Deployment/sutra-control: {SECRET_ENV}"}
    assert lines[-1] == f"1 tier scanned by checkov {CHECKOV_VERSION}: 1 failed check"


def annotate(path: Path, after: str, annotations: dict[str, str]) -> None:
    lines = "".join(f"    {key}: {value!r}\n" for key, value in annotations.items())
    edit(path, after, f"{after}  annotations:\n{lines}")


def test_a_skip_annotation_on_the_workload_counts_and_needs_a_reason(copy: Path, capsys) -> None:
    """checkov honours `checkov.io/skipN` in a workload's own metadata (a CronJob's too), and
    the scan prints each skip's reason; a skip without one is a failure."""
    drop_digest(copy, "low", "storage-server")
    drop_digest(copy, "low", "sutra-api")
    annotate(
        copy / "base/storage-server/snapshot-cronjob.yaml",
        "metadata:\n  name: storage-snapshot\n",
        {"checkov.io/skip1": "CKV_K8S_43=reason one", "checkov.io/skip2": "CKV_K8S_15=reason two"},
    )
    annotate(
        copy / "base/sutra-api/deployment.yaml",
        "metadata:\n  name: sutra-api\n",
        {"checkov.io/skip1": "CKV_K8S_43=reason three", "checkov.io/skip2": "CKV_K8S_15"},
    )
    code, lines, _ = scan(capsys, "low")
    assert code == 1
    assert lines[:5] == [
        f"low: {lines[0].split()[1]} passed, 2 failed, 4 skipped",
        "  skipped CKV_K8S_15 on CronJob/storage-snapshot: reason two",
        "  skipped CKV_K8S_43 on CronJob/storage-snapshot: reason one",
        "  skipped CKV_K8S_15 on Deployment/sutra-api: No comment provided",
        "  skipped CKV_K8S_43 on Deployment/sutra-api: reason three",
    ]
    assert failures(lines) == {
        f"low StatefulSet/storage-server: {DIGEST}",
        f"low StatefulSet/storage-server: {PULL_POLICY}",
        f"low Deployment/sutra-api: {PULL_POLICY} (skipped without a reason: "
        "write checkov.io/skipN: CKV_K8S_15=<why>)",
    }


def test_without_checkov_it_says_how_to_install_it(
    gitops_checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.delenv("SUTRA_CHECKOV", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    code, lines, err = scan(capsys)
    assert code == 2 and lines == []
    (line,) = err.strip().splitlines()
    assert (
        line.startswith("sutra scan: error: checkov not found") and "scripts/bootstrap test" in line
    )

    monkeypatch.setenv("SUTRA_CHECKOV", str(tmp_path / "checkov"))
    code, _, err = scan(capsys)
    assert code == 2 and "SUTRA_CHECKOV=" in err and "scripts/bootstrap test" in err


def test_an_unknown_tier_is_a_usage_error(copy: Path, capsys) -> None:
    code, lines, err = scan(capsys, "staging")
    assert code == 2 and lines == []
    known = ", ".join(tiers.names(CHECKOUT))
    assert err.strip() == f"sutra scan: error: unknown tier 'staging' (choose from {known})"


def test_a_tier_without_a_single_check_is_an_error_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "low.yaml").write_text("# a tier that rendered nothing checkov knows\n")
    reports, _ = run_checkov(tmp_path, find_tool("checkov", CHECKOUT))
    with pytest.raises(ScanError, match="checkov ran no check on tier low"):
        collect(reports, ["low"])
