"""`sutra promote`: only the target's image pins change, in order, through the gate."""

from __future__ import annotations

import yaml

from sutra.gitops.images import read_pins


def test_promote_low_to_medium_changes_only_medium_pins_and_commits(repo):
    repo.set_tag("low", "sutra-api", "0.1.0", "0.2.0")
    repo.set_tag("low", "storage-server", "0.1.0", "0.2.0")
    medium = repo.path / "overlays/medium/kustomization.yaml"
    before_doc = yaml.safe_load(medium.read_text())
    before = repo.head()

    done = repo.sutra("promote", "low", "medium")

    assert done.returncode == 0, done.stderr
    assert repo.head() != before
    assert repo.git("show", "--name-only", "--format=", "HEAD").split() == [
        "overlays/medium/kustomization.yaml"
    ]
    message = repo.git("log", "-1", "--format=%B")
    assert "promote low -> medium" in message
    assert "medium: ghcr.io/sutra-ai/sutra-api 0.1.0 -> 0.2.0" in message
    assert "medium: ghcr.io/sutra-ai/storage-server 0.1.0 -> 0.2.0" in message
    pins = read_pins(repo.path / "overlays/medium")
    assert pins["ghcr.io/sutra-ai/sutra-api"].tag == "0.2.0"
    assert pins["ghcr.io/sutra-ai/sutra-hybrid"].tag == "0.1.0"
    after_doc = yaml.safe_load(medium.read_text())
    assert {k: v for k, v in after_doc.items() if k != "images"} == {
        k: v for k, v in before_doc.items() if k != "images"
    }
    diff = repo.git("show", "--format=", "-U0", "HEAD")
    added = [ln for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    assert added == ['+    newTag: "0.2.0"', '+    newTag: "0.2.0"']


def test_skipping_a_tier_is_refused_without_force(repo):
    repo.set_tag("low", "sutra-api", "0.1.0", "0.2.0")
    before = repo.head()

    refused = repo.sutra("promote", "low", "high")

    assert refused.returncode == 2
    assert "--force" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert repo.head() == before

    forced = repo.sutra("promote", "low", "high", "--force")
    assert forced.returncode == 0, forced.stderr
    assert repo.git("show", "--name-only", "--format=", "HEAD").split() == [
        "overlays/high/kustomization.yaml"
    ]


def test_a_promotion_that_breaks_a_policy_is_refused_and_leaves_no_change(repo):
    repo.set_tag("low", "sutra-api", "0.1.0", "latest")
    medium = repo.path / "overlays/medium/kustomization.yaml"
    text = medium.read_text()
    before = repo.head()

    done = repo.sutra("promote", "low", "medium")

    assert done.returncode == 1
    assert "[image_pinned]" in done.stdout
    assert "refused by the gate" in done.stdout
    assert medium.read_text() == text
    assert repo.head() == before
    assert repo.git("status", "--porcelain") == ""


def test_dry_run_writes_nothing(repo):
    repo.set_tag("medium", "sutra-client", "0.1.0", "0.3.0")
    high = repo.path / "overlays/high/kustomization.yaml"
    text = high.read_text()
    before = repo.head()

    done = repo.sutra("promote", "medium", "high", "--dry-run")

    assert done.returncode == 0, done.stderr
    assert "high: ghcr.io/sutra-ai/sutra-client 0.1.0 -> 0.3.0" in done.stdout
    assert '+    newTag: "0.3.0"' in done.stdout
    assert high.read_text() == text
    assert repo.head() == before


def test_a_dirty_working_tree_is_refused(repo):
    repo.set_tag("low", "sutra-api", "0.1.0", "0.2.0")
    kustomization = repo.path / "base/kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "\n# local edit\n")
    before = repo.head()

    done = repo.sutra("promote", "low", "medium")

    assert done.returncode == 2
    assert "uncommitted" in done.stderr
    assert repo.head() == before


def test_nothing_to_promote_makes_no_commit(repo):
    before = repo.head()
    done = repo.sutra("promote", "low", "medium")
    assert done.returncode == 0, done.stderr
    assert "nothing to promote" in done.stdout
    assert repo.head() == before


def test_pin_sets_a_built_tag_in_one_overlay_only(repo):
    done = repo.sutra("pin", "low", "storage-server=sha-1a2b3c4d5e6f", "sutra-api=0.4.0")
    assert done.returncode == 0, done.stderr
    changed = repo.git("status", "--porcelain").split("\n")
    assert [line[3:] for line in changed if line] == ["overlays/low/kustomization.yaml"]
    pins = read_pins(repo.path / "overlays/low")
    assert pins["ghcr.io/sutra-ai/storage-server"].tag == "sha-1a2b3c4d5e6f"
    assert pins["ghcr.io/sutra-ai/sutra-api"].tag == "0.4.0"


def test_pin_rejects_latest_and_unknown_images(repo):
    for bad in ("sutra-api=latest", "nope=1.0", "sutra-api"):
        done = repo.sutra("pin", "low", bad)
        assert done.returncode == 2, bad
        assert len(done.stderr.strip().splitlines()) == 1
    assert repo.git("status", "--porcelain") == ""
