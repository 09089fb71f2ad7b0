"""Shared fixtures for the policy tests: the repository's policy folder, loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

from sutra.gitops.policy import PolicySet

POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="session")
def policy_set() -> PolicySet:
    return PolicySet(POLICY_DIR)
