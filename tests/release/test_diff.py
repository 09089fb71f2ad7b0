"""`sutra diff`: exactly the objects a change touches, in exactly the tiers it touches."""

from __future__ import annotations


def commit_on_branch(repo, path: str, old: str, new: str) -> None:
    repo.git("checkout", "--quiet", "-b", "change")
    repo.edit(path, old, new)
    repo.git("commit", "--quiet", "-am", f"edit {path}")


def test_an_hpa_range_change_in_one_overlay_is_reported_in_that_tier_only(repo):
    commit_on_branch(
        repo,
        "overlays/medium/tier.yaml",
        "  name: sutra-api\nspec:\n  minReplicas: 10\n  maxReplicas: 25",
        "  name: sutra-api\nspec:\n  minReplicas: 10\n  maxReplicas: 30",
    )

    done = repo.sutra("diff")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "low: 0 changed, 0 added, 0 removed" in lines
    assert "medium: 1 changed, 0 added, 0 removed" in lines
    assert "high: 0 changed, 0 added, 0 removed" in lines
    assert [ln for ln in lines if ln.startswith("  ~ ")] == [
        "  ~ HorizontalPodAutoscaler/sutra-ai/sutra-api"
    ]
    assert "-  maxReplicas: 25" in lines
    assert "+  maxReplicas: 30" in lines
    # the user's checkout is untouched and no worktree is left behind
    assert repo.git("status", "--porcelain") == ""
    assert len(repo.git("worktree", "list").splitlines()) == 1


def test_a_base_change_is_reported_in_every_tier(repo):
    commit_on_branch(repo, "base/sutra-api/hpa.yaml", "periodSeconds: 120", "periodSeconds: 180")

    done = repo.sutra("diff", "--base", "main")

    assert done.returncode == 0, done.stderr
    for tier in ("low", "medium", "high"):
        assert f"{tier}: 1 changed, 0 added, 0 removed" in done.stdout


def test_a_docs_only_commit_reports_nothing(repo):
    commit_on_branch(repo, "README.md", "# a copy", "# an edited copy")

    done = repo.sutra("diff", "--base", "main")

    assert done.returncode == 0, done.stderr
    for tier in ("low", "medium", "high"):
        assert f"{tier}: 0 changed, 0 added, 0 removed" in done.stdout
    assert "  ~ " not in done.stdout


def test_markdown_format_collapses_each_changed_tier(repo):
    commit_on_branch(repo, "overlays/high/tier.yaml", "maxReplicas: 50", "maxReplicas: 60")

    done = repo.sutra("diff", "--format", "markdown")

    assert done.returncode == 0, done.stderr
    assert done.stdout.count("<details>") == 1
    assert "<summary><b>high: 1 changed, 0 added, 0 removed</b></summary>" in done.stdout
    assert "- **low**: no change" in done.stdout
    assert "```diff" in done.stdout


def test_an_unknown_base_is_a_usage_error(repo):
    done = repo.sutra("diff", "--base", "no-such-ref")
    assert done.returncode == 2
    assert "no-such-ref" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
