"""Each rule rejects its disallowed samples under its own name and accepts its allowed ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from sutra.gitops.policy import PolicySet, read_sample

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
    found = [v for v in policy_set.evaluate(objects, tier) if v.rule == rule]
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
    for violation in policy_set.evaluate(objects, tier):
        assert violation.kind and violation.name, violation
        assert violation.name in violation.message, violation


def test_sample_tier_comment(tmp_path: Path) -> None:
    sample = tmp_path / "allowed-x.yaml"
    sample.write_text("# tier: high\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n")
    assert read_sample(sample) == (
        "high",
        [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}],
    )
    sample.write_text("# a comment\nkind: Service\n")
    assert read_sample(sample)[0] == "low"
