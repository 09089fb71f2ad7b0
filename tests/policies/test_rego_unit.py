"""Each `test_*` rule of every `_test.rego` file runs as its own pytest item."""

from __future__ import annotations

import pytest

from sutra.gitops.policy import PolicySet

from .conftest import POLICY_DIR

_CASES = PolicySet(POLICY_DIR).test_cases()


def test_there_are_rego_unit_tests() -> None:
    assert len(_CASES) >= 50


@pytest.mark.parametrize(
    ("package", "name"), _CASES, ids=[f"{p.removeprefix('sutra.')}::{n}" for p, n in _CASES]
)
def test_rego(policy_set: PolicySet, package: str, name: str) -> None:
    result = policy_set.run_unit_test(package, name)
    assert result.passed, str(result)
