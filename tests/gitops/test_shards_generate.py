"""`sutra shards generate` on a copy of the tree: the shard files follow the tier table's
storage.shards, and the gate names them while they do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from sutra.gitops import render, shard_files, shards, tiers

from .conftest import edit


def _writers(objects: list[dict]) -> list[str]:
    return sorted(
        o["metadata"]["name"]
        for o in objects
        if o["kind"] == "StatefulSet"
        and shards.unsharded(tiers.load(), o["metadata"]["name"]) == "storage-server"
    )


def test_a_new_shard_count_is_stale_until_generated(gitops_checkout: Path) -> None:
    root = gitops_checkout
    edit(root / tiers.TABLE, "storage: {shards: 4}", "storage: {shards: 3}")
    folder = "overlays/high/storage-shards"
    stale = dict(shard_files.FILES.stale(root))
    assert set(stale) == {f"{folder}/kustomization.yaml", f"{folder}/shards.yaml"}
    found = shard_files.violations(root, "high")
    assert {v.rule for v in found} == {"generated"}
    assert "sutra shards generate" in found[0].message
    shard_files.FILES.write(root)
    assert shard_files.FILES.stale(root) == []
    objects = render.parse(render.kustomize(root / "overlays" / "high"))
    assert _writers(objects) == ["storage-server", "storage-server-1", "storage-server-2"]


def test_one_shard_writes_no_files(gitops_checkout: Path) -> None:
    root = gitops_checkout
    edit(root / tiers.TABLE, "    storage: {shards: 4}\n", "")
    with pytest.raises(tiers.TierTableError, match="remove `storage-shards` in its components"):
        shard_files.render_files(root)
    edit(root / "overlays/high/kustomization.yaml", "  - storage-shards\n", "")
    assert shard_files.render_files(root) == {}
    assert {p for p, _ in shard_files.FILES.stale(root)} == set(shard_files.owned(root))
