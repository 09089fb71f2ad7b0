"""The CRD schemas live in the checkout (schemas/crds/): a fresh clone checks itself.

The refresh is exercised against a real HTTP server on 127.0.0.1 laid out like the catalog
(`/<commit>/<path>`), since the catalog itself is not reachable from the test machines.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sutra.gitops.crd_schemas import SchemaSourceError, load_sources, refresh, verify
from sutra.gitops.paths import crd_schema_dir

CHECKOUT = Path(__file__).resolve().parents[2]
VENDORED = CHECKOUT / "schemas" / "crds"
SUTRA = str(Path(sys.executable).parent / "sutra")
NEW_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_the_gate_passes_with_no_schema_variable_and_nothing_beside_the_checkout(
    tmp_path: Path,
) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SUTRA_")}
    done = subprocess.run(
        [SUTRA, "check"], cwd=CHECKOUT, env=environ, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].endswith("checked: clean")


def test_without_the_variable_the_schemas_are_the_vendored_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SUTRA_CRD_SCHEMA_DIR", raising=False)
    assert crd_schema_dir(CHECKOUT) == VENDORED
    monkeypatch.setenv("SUTRA_CRD_SCHEMA_DIR", "/elsewhere")
    assert crd_schema_dir(CHECKOUT) == Path("/elsewhere")


def test_every_vendored_file_has_its_provenance_and_licence() -> None:
    assert verify(VENDORED) == []
    sources = yaml.safe_load((VENDORED / "sources.yaml").read_text())
    assert sources["catalog"]["project"] == "datreeio/CRDs-catalog"
    assert "MIT" in (VENDORED / "LICENSE").read_text()
    for entry in sources["schemas"]:
        assert entry["defined_by"], entry["path"]
        assert entry["path"] in (VENDORED / "README.md").read_text()


def test_nothing_tracked_reaches_a_folder_beside_the_checkout() -> None:
    """Whatever lies beside this checkout (nothing, in a fresh clone) is never read."""
    siblings = [p.name for p in CHECKOUT.parent.iterdir() if p.is_dir() and p != CHECKOUT]
    for name in siblings:
        tracked = subprocess.run(
            [
                "git",
                "grep",
                "-l",
                "-F",
                f"../{name}",
                "--",
                ".ci",
                "Makefile",
                "src",
                "tests",
                "scripts",
            ],
            cwd=CHECKOUT,
            capture_output=True,
            text=True,
        )
        assert tracked.stdout == "", f"these files read ../{name}: {tracked.stdout}"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    folder = tmp_path / "crds"
    shutil.copytree(VENDORED, folder)
    return folder


def test_verify_names_an_edited_a_missing_and_an_unlisted_file(copy: Path) -> None:
    (copy / "argoproj.io" / "appproject_v1alpha1.json").write_text('{"type": "object"}')
    (copy / "monitoring.coreos.com" / "prometheusrule_v1.json").unlink()
    (copy / "keda.sh").mkdir()
    (copy / "keda.sh" / "scaledobject_v1alpha1.json").write_text("{}")
    assert verify(copy) == [
        "argoproj.io/appproject_v1alpha1.json: sha256 differs from sources.yaml",
        "monitoring.coreos.com/prometheusrule_v1.json: missing",
        "keda.sh/scaledobject_v1alpha1.json: not listed in sources.yaml",
    ]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Path]:
    """A catalog served over HTTP at /<commit>/<path>; yields its root folder."""
    root = tmp_path / "catalog"
    shutil.copytree(VENDORED, root / NEW_COMMIT)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    root.joinpath("url").write_text(f"http://127.0.0.1:{server.server_port}/{{commit}}/{{path}}")
    yield root
    server.shutdown()
    thread.join()


def _point_at(copy: Path, catalog: Path) -> None:
    sources = copy / "sources.yaml"
    url = catalog.joinpath("url").read_text()
    text = sources.read_text()
    old = load_sources(copy).url
    sources.write_text(text.replace(f"url: {old}", f"url: {url}"))


def test_refresh_moves_the_pin_and_records_the_new_digests(copy: Path, catalog: Path) -> None:
    _point_at(copy, catalog)
    changed_file = catalog / NEW_COMMIT / "argoproj.io" / "appproject_v1alpha1.json"
    changed_file.write_text(changed_file.read_text().replace("AppProject", "AppProject v2", 1))
    lines: list[str] = []
    assert refresh(copy, NEW_COMMIT, log=lines.append) == ["argoproj.io/appproject_v1alpha1.json"]
    assert len(lines) == 6 and lines[0].startswith("[1/6] http://127.0.0.1:")
    assert load_sources(copy).commit == NEW_COMMIT
    assert verify(copy) == []
    assert (copy / "argoproj.io" / "appproject_v1alpha1.json").read_text() == (
        changed_file.read_text()
    )
    assert "# Provenance" in (copy / "sources.yaml").read_text()  # comments kept


def test_a_failed_refresh_writes_nothing(copy: Path, catalog: Path) -> None:
    _point_at(copy, catalog)
    (catalog / NEW_COMMIT / "templates.gatekeeper.sh" / "constrainttemplate_v1.json").unlink()
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    with pytest.raises(SchemaSourceError, match=r"cannot download .*constrainttemplate_v1\.json"):
        refresh(copy, NEW_COMMIT, log=lambda _line: None)
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


def test_a_page_that_is_not_a_schema_is_refused(copy: Path, catalog: Path) -> None:
    _point_at(copy, catalog)
    page = catalog / NEW_COMMIT / "argoproj.io" / "application_v1alpha1.json"
    page.write_text("<html>rate limited</html>")
    with pytest.raises(SchemaSourceError, match="is not a JSON schema"):
        refresh(copy, NEW_COMMIT, log=lambda _line: None)


def test_a_short_commit_is_refused(copy: Path) -> None:
    with pytest.raises(SchemaSourceError, match="full 40-character commit SHA"):
        refresh(copy, "7b1e26e", log=lambda _line: None)


def test_the_command_line_verifies_the_checkout() -> None:
    done = subprocess.run(
        [SUTRA, "schemas", "verify"], cwd=CHECKOUT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "6 CRD schemas match sources.yaml"
