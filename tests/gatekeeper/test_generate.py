"""gatekeeper/ is generated from policies/ and nothing else: stale files fail, and so do rules
that cannot run in Gatekeeper (reading the tier input or the tier table)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sutra import cli
from sutra.gitops import gatekeeper

from .conftest import CONVERTED, REPO_ROOT


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not exactly once in {path}"
    path.write_text(text.replace(old, new))


def test_the_committed_files_are_what_the_policies_generate() -> None:
    assert gatekeeper.stale(REPO_ROOT) == [], "run `sutra gatekeeper generate` and commit"


def test_the_libraries_are_the_rule_files_moved_under_lib() -> None:
    """One source of truth: a template ships the rule's admission.rego and lib/manifest.rego,
    changed only in their package paths."""
    rules = {r.rule: r for r in gatekeeper.admission_rules(REPO_ROOT / "policies")}
    assert set(rules) == CONVERTED
    manifest = (REPO_ROOT / "policies" / "lib" / "manifest.rego").read_text()
    for name, rule in rules.items():
        source = (REPO_ROOT / "policies" / name / "admission.rego").read_text()
        expected = [manifest, source]
        moved = [t.replace("package sutra.", "package lib.sutra.").replace(
            "data.sutra.", "data.lib.sutra.") for t in expected]  # fmt: skip
        assert [lib.split("\n", 1)[1] for lib in rule.libs] == moved
        assert f"import data.lib.sutra.{name}.admission" in rule.rego


def test_table_values_become_typed_required_parameters() -> None:
    (rule,) = [r for r in gatekeeper.admission_rules() if r.rule == "storage_single_writer"]
    assert rule.parameters == {
        "workload": "storage-server", "minVolumeGi": 50, "accessMode": "ReadWriteOnce"}  # fmt: skip
    schema = rule.template()["spec"]["crd"]["spec"]["validation"]["openAPIV3Schema"]
    assert schema["properties"]["minVolumeGi"] == {"type": "integer"}
    assert sorted(schema["required"]) == ["accessMode", "minVolumeGi", "workload"]
    table = yaml.safe_load((REPO_ROOT / "policies" / "data" / "tiers.yaml").read_text())
    assert rule.parameters["minVolumeGi"] == table["storage"]["min_volume_gi"]


def test_a_rule_change_makes_the_files_stale_until_regenerated(checkout: Path, capsys) -> None:
    assert cli.main(["gatekeeper", "generate", "--check"]) == 0
    edit(checkout / "policies" / "image_pinned" / "admission.rego", '== "latest"', '== "edge"')
    (checkout / "gatekeeper" / "templates" / "leftover.yaml").write_text("kind: Nothing\n")
    capsys.readouterr()
    assert cli.main(["gatekeeper", "generate", "--check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "gatekeeper/templates/image-pinned.yaml is out of date with policies/",
        "gatekeeper/templates/leftover.yaml is not generated from policies/",
        "run `sutra gatekeeper generate` and commit the result",
    ]
    assert cli.main(["gatekeeper", "generate"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "removed gatekeeper/templates/leftover.yaml",
        "wrote gatekeeper/templates/image-pinned.yaml",
    ]
    assert '== "edge"' in (checkout / "gatekeeper" / "templates" / "image-pinned.yaml").read_text()
    assert gatekeeper.stale(checkout) == []


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        # Reaching for the tier table: Gatekeeper has no data.tiers.
        ('params.minVolumeGi * 1073741824', 'data.tiers.storage.min_volume_gi * 1073741824',
         "policies/storage_single_writer/admission.rego: reads data.tiers.storage.min_volume_gi"),
        # Importing the whole-tier helpers, which read input.objects and data.tiers.
        ("import data.sutra.lib.manifest\n",
         "import data.sutra.lib.manifest\nimport data.sutra.lib.k8s\n",
         "policies/lib/k8s.rego: reads input"),
        # A kind without a known API group cannot be matched.
        ('| {"HorizontalPodAutoscaler"}', '| {"Scale"}', "(unknown: Scale)"),
    ],
)  # fmt: skip
def test_a_rule_gatekeeper_cannot_run_is_refused_in_one_line(
    checkout: Path, capsys, old: str, new: str, error: str
) -> None:
    edit(checkout / "policies" / "storage_single_writer" / "admission.rego", old, new)
    assert cli.main(["gatekeeper", "generate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sutra gatekeeper: error: ")
    assert error in err
    assert err.count("\n") == 1


def test_parameters_that_differ_between_tiers_are_refused(checkout: Path) -> None:
    edit(checkout / "policies" / "storage_single_writer" / "storage_single_writer.rego",
         '"workload": k8s.config.storage.workload,', '"workload": k8s.tier,')  # fmt: skip
    with pytest.raises(gatekeeper.GatekeeperError, match="parameters differ between tiers"):
        gatekeeper.render(checkout)
