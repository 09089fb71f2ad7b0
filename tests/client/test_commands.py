"""`sutra client build` and `python -m sutra.client.bundle` (what the image's build stage runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sutra.cli import main


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["client", "build", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "--out DIR" in text and "--api-base URL" in text and "immutable" in text


def test_build_writes_the_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "site"
    api = "https://api.example.com"
    assert main(["client", "build", "--out", str(out), "--api-base", api]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["api_base"] == "https://api.example.com"
    for path in manifest["files"]:
        assert (out / path).is_file(), path
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {len(manifest['files']) + 2} files to {out}")
    assert manifest["assets"]["app.js"] in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "FILE"], "exists and is not a directory"),
        (["--out", "FOREIGN"], "not empty and holds no earlier bundle"),
        (["--out", "FILE/below"], "--out"),
        (["--out", "NEW", "--api-base", "ftp://x"], "--api-base: expected an http(s) URL"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "FOREIGN").mkdir()
    (tmp_path / "FOREIGN" / "keep.txt").write_text("x")
    args = [a if a.startswith("-") or "://" in a else str(tmp_path / a) for a in args]
    assert main(["client", "build", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sutra client: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "NEW").exists()


def test_client_without_a_subcommand_is_usage_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["client"]) == 2
    assert "build" in capsys.readouterr().err


def test_the_bundle_module_runs_alone_as_in_the_image(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "sutra.client.bundle", "--out", str(tmp_path / "b")],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "b" / "index.html").is_file()
    bad = subprocess.run(
        [sys.executable, "-m", "sutra.client.bundle", "--out", str(tmp_path / "b" / "index.html")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "not a directory" in bad.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SUTRA_API_URL", "sutra-api:8000"), ("SUTRA_API_BASE", "api"), ("SUTRA_CLIENT_PORT", "0")],
)
def test_the_server_refuses_a_bad_setting_in_one_line(variable: str, value: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sutra.client"],
        env={**os.environ, variable: value},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"sutra-client: invalid setting {variable}: ")
    assert done.stderr.count("\n") == 1
