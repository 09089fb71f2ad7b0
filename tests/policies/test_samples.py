"""Each rule rejects its disallowed samples under its own name and accepts its allowed ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from sutra.gitops.policy import PolicySet, read_sample, read_sample_region

from .conftest import POLICY_DIR


def _samples() -> list[tuple[str, Path]]:
    return [
        (folder.name, sample)
        for folder in sorted(POLICY_DIR.iterdir())
        if (folder / f"{folder.name}.rego").is_file()
        for sample in sorted((folder / "samples").glob("*.yaml"))
    ]


SAMPLES = _samples()
IDS = [f"{rule}/{path.name}" for rule, path in SAMPLES]


@pytest.mark.parametrize(("rule", "path"), SAMPLES, ids=IDS)
def test_sample(policy_set: PolicySet, rule: str, path: Path) -> None:
    tier, objects = read_sample(path)
    assert objects, f"{path} holds no objects"
    region = read_sample_region(path)
    found = [v for v in policy_set.evaluate(objects, tier, region) if v.rule == rule]
    if path.name.startswith("disallowed-"):
        assert found, f"{rule} accepted {path.name}"
    else:
        assert path.name.startswith("allowed-"), (
            f"{path.name}: name samples allowed-* or disallowed-*"
        )
        assert not found, "\n".join(map(str, found))


@pytest.mark.parametrize(("rule", "path"), SAMPLES, ids=IDS)
def test_messages_name_their_object(policy_set: PolicySet, rule: str, path: Path) -> None:
    tier, objects = read_sample(path)
    for violation in policy_set.evaluate(objects, tier, read_sample_region(path)):
        assert violation.kind and violation.name, violation
        assert violation.name in violation.message, violation


def test_sample_tier_comment(tmp_path: Path) -> None:
    sample = tmp_path / "allowed-x.yaml"
    sample.write_text("# tier: high\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n")
    assert read_sample(sample) == (
        "high",
        [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}],
    )
    assert read_sample_region(sample) is None
    sample.write_text("# a comment\nkind: Service\n")
    assert read_sample(sample)[0] == "low"


def test_sample_region_comment(tmp_path: Path) -> None:
    """`# region: NAME` among the opening comments renders the sample as that region's."""
    sample = tmp_path / "allowed-x.yaml"
    sample.write_text("# tier: high\n# region: eu-west\n# why\nkind: Service\n# region: x\n")
    assert read_sample(sample)[0] == "high"
    assert read_sample_region(sample) == "eu-west"
