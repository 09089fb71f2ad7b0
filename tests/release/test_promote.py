"""`sutra promote` and `sutra pin`: only the target's image pins (tag and digest) change, in
order, through the gate."""

from __future__ import annotations

import yaml

from sutra.gitops.images import read_pins

from .conftest import digest_of

API = "ghcr.io/sutra-ai/sutra-api"
SERVER = "ghcr.io/sutra-ai/storage-server"


def test_promote_low_to_medium_moves_tags_and_digests_and_commits(repo):
    old = read_pins(repo.path / "overlays/medium")
    repo.set_pin("low", "sutra-api", "0.2.0", digest_of("api 0.2.0"))
    repo.set_pin("low", "storage-server", "0.2.0", digest_of("server 0.2.0"))
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
    for image, build in ((API, "api 0.2.0"), (SERVER, "server 0.2.0")):
        assert f"medium: {image} {old[image].version} -> 0.2.0@{digest_of(build)}" in message
        assert old[image].version == f"0.1.0@{old[image].digest}"
    pins = read_pins(repo.path / "overlays/medium")
    assert (pins[API].tag, pins[API].digest) == ("0.2.0", digest_of("api 0.2.0"))
    hybrid = "ghcr.io/sutra-ai/sutra-hybrid"
    assert pins[hybrid] == old[hybrid]
    after_doc = yaml.safe_load(medium.read_text())
    assert {k: v for k, v in after_doc.items() if k != "images"} == {
        k: v for k, v in before_doc.items() if k != "images"
    }
    diff = repo.git("show", "--format=", "-U0", "HEAD")
    added = [ln for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    assert added == [
        '+    newTag: "0.2.0"',
        f'+    digest: "{digest_of("server 0.2.0")}"',
        '+    newTag: "0.2.0"',
        f'+    digest: "{digest_of("api 0.2.0")}"',
    ]


def test_skipping_a_tier_is_refused_without_force(repo):
    repo.set_pin("low", "sutra-api", "0.2.0", digest_of("api 0.2.0"))
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


def test_a_pin_without_its_digest_is_refused_by_the_gate_and_leaves_no_change(repo):
    repo.set_pin("low", "sutra-api", "0.2.0", None)
    medium = repo.path / "overlays/medium/kustomization.yaml"
    text = medium.read_text()
    before = repo.head()

    done = repo.sutra("promote", "low", "medium")

    assert done.returncode == 1
    assert "is not pinned by digest" in done.stdout and "[image_pinned]" in done.stdout
    assert "refused by the gate" in done.stdout
    assert medium.read_text() == text
    assert repo.head() == before
    assert repo.git("status", "--porcelain") == ""


def test_a_malformed_digest_in_the_source_is_refused_before_anything_is_written(repo):
    repo.set_pin("low", "sutra-api", "0.2.0", "sha256:0123abc")
    before = repo.head()

    done = repo.sutra("promote", "low", "medium")

    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "'sha256:0123abc' is not an image digest" in line
    assert repo.head() == before
    assert repo.git("status", "--porcelain") == ""


def test_dry_run_writes_nothing(repo):
    repo.set_pin("medium", "sutra-client", "0.3.0", digest_of("client 0.3.0"))
    high = repo.path / "overlays/high/kustomization.yaml"
    text = high.read_text()
    before = repo.head()

    done = repo.sutra("promote", "medium", "high", "--dry-run")

    assert done.returncode == 0, done.stderr
    change = "high: ghcr.io/sutra-ai/sutra-client 0.1.0@sha256:"
    assert change in done.stdout and f"-> 0.3.0@{digest_of('client 0.3.0')}" in done.stdout
    assert '+    newTag: "0.3.0"' in done.stdout
    assert f'+    digest: "{digest_of("client 0.3.0")}"' in done.stdout
    assert high.read_text() == text
    assert repo.head() == before


def test_a_dirty_working_tree_is_refused(repo):
    repo.set_pin("low", "sutra-api", "0.2.0", digest_of("api 0.2.0"))
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


def test_pin_sets_a_built_tag_and_digest_in_one_overlay_only(repo):
    old = read_pins(repo.path / "overlays/low")
    server, api = digest_of("server sha-1a2b3c4d5e6f"), digest_of("api 0.4.0")
    done = repo.sutra(
        "pin", "low", f"storage-server=sha-1a2b3c4d5e6f@{server}", f"sutra-api=0.4.0@{api}"
    )
    assert done.returncode == 0, done.stderr
    assert f"low: {API} {old[API].version} -> 0.4.0@{api}" in done.stdout.splitlines()
    changed = repo.git("status", "--porcelain").split("\n")
    assert [line[3:] for line in changed if line] == ["overlays/low/kustomization.yaml"]
    pins = read_pins(repo.path / "overlays/low")
    assert (pins[SERVER].tag, pins[SERVER].digest) == ("sha-1a2b3c4d5e6f", server)
    assert (pins[API].tag, pins[API].digest) == ("0.4.0", api)
    check = repo.sutra("check", "--quiet", "low")
    assert check.returncode == 0, check.stdout + check.stderr
    rendered = repo.sutra("render", "low").stdout
    assert f"image: {API}:0.4.0@{api}" in rendered


def test_pin_rejects_what_is_not_a_tag_and_a_digest(repo):
    digest = digest_of("api 0.4.0")
    for bad in (
        "sutra-api=latest@" + digest,
        "nope=1.0@" + digest,
        "sutra-api",
        "sutra-api=0.4.0",  # no digest
        "sutra-api=@" + digest,  # no tag
        "sutra-api=0.4.0@sha256:0123abc",  # a prefix
        "sutra-api=0.4.0@" + digest.upper().replace("SHA256", "sha256"),
        "sutra-api=0.4.0@md5:" + digest.removeprefix("sha256:"),
    ):
        done = repo.sutra("pin", "low", bad)
        assert done.returncode == 2, bad
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert repo.git("status", "--porcelain") == ""
