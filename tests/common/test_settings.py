"""Settings shared by the services: the storage address is checked the same way by each, and
any setting, secrets above all, can be read from the file its `_FILE` variable names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sutra.api.settings import ApiSettings
from sutra.common.settings import SettingFileError, host_port, load_settings, read_setting_file
from sutra.common.testing import free_port
from sutra.control.settings import ControlSettings

STORAGE_CLIENTS = {
    "sutra.api": "SUTRA_API_PORT",
    "sutra.hybrid": "SUTRA_HYBRID_PORT",
    "sutra.control": "SUTRA_CONTROL_PORT",
}


@pytest.mark.parametrize(
    "value", ["storage-server:50051", "127.0.0.1:1", "[::1]:50051", "a.b-c_d:65535"]
)
def test_a_host_and_port_is_accepted(value: str) -> None:
    assert host_port(value) == value


@pytest.mark.parametrize(
    "value", ["storage-server", "storage-server:0", "storage-server:65536", "http://s:1", ":50051"]
)
def test_anything_else_is_refused_with_an_example(value: str) -> None:
    with pytest.raises(ValueError, match=r"expected host:port, e\.g\. storage-server:50051"):
        host_port(value)


@pytest.mark.parametrize("module", sorted(STORAGE_CLIENTS))
def test_a_bad_storage_address_stops_the_service_with_one_line(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUTRA_")}
    env |= {"SUTRA_STORAGE_SERVER": "storage-server", STORAGE_CLIENTS[module]: str(free_port())}
    done = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "SUTRA_STORAGE_SERVER" in line and "expected host:port" in line, line


# A setting of each service that takes a secret: a mounted Secret file gives it (`_FILE`).
SECRET_SETTINGS = {
    "sutra.control": "SUTRA_CONTROL_TOKEN",
    "sutra.api": "SUTRA_REDIS_URL",
}
TOKEN = "an-admin-token-of-some-length"


def test_a_setting_is_read_from_the_file_its_file_variable_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")  # as `echo` and most secret managers write it
    monkeypatch.delenv("SUTRA_CONTROL_TOKEN", raising=False)
    monkeypatch.setenv("SUTRA_CONTROL_TOKEN_FILE", str(token))
    assert ControlSettings().token == TOKEN


def test_a_redis_url_with_a_password_is_read_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = tmp_path / "redis-url"
    url.write_text("redis://:s3cret@sutra-redis:6379/0\r\n")
    monkeypatch.delenv("SUTRA_REDIS_URL", raising=False)
    monkeypatch.setenv("SUTRA_REDIS_URL_FILE", str(url))
    assert ApiSettings().redis_url == "redis://:s3cret@sutra-redis:6379/0"


def test_only_the_one_trailing_newline_is_removed(tmp_path: Path) -> None:
    value = tmp_path / "value"
    value.write_text(" spaced value \n\n")
    assert read_setting_file("SUTRA_X_FILE", str(value)) == " spaced value \n"


def _bad_file(kind: str, folder: Path) -> Path:
    """A file that cannot give a value: absent, a directory, empty, or not text."""
    path = folder / kind
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_text("\n")
    elif kind == "not-utf8":
        path.write_bytes(b"\xff\xfe token")
    return path


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("absent", "cannot read"), ("directory", "cannot read"), ("empty", "is empty"),
     ("not-utf8", "cannot read")],
)  # fmt: skip
def test_a_bad_file_is_one_line_naming_the_variable_and_the_file(
    kind: str,
    reason: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    path = _bad_file(kind, tmp_path)
    monkeypatch.delenv("SUTRA_CONTROL_TOKEN", raising=False)
    monkeypatch.setenv("SUTRA_CONTROL_TOKEN_FILE", str(path))
    with pytest.raises(SystemExit) as stop:
        load_settings(ControlSettings, "sutra-control")
    assert stop.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("sutra-control: SUTRA_CONTROL_TOKEN_FILE: ") and reason in line, line
    assert str(path) in line


def test_a_wrong_value_from_a_file_is_named_by_its_file_never_echoed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    token = tmp_path / "token"
    token.write_text("tiny-tok\n")  # a real token with a typo would be printed otherwise
    monkeypatch.delenv("SUTRA_CONTROL_TOKEN", raising=False)
    monkeypatch.setenv("SUTRA_CONTROL_TOKEN_FILE", str(token))
    with pytest.raises(SystemExit):
        load_settings(ControlSettings, "sutra-control")
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        "sutra-control: invalid setting SUTRA_CONTROL_TOKEN_FILE: "
        f"must be at least 16 characters (in {token})"
    )


def test_a_value_and_its_file_together_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN)
    monkeypatch.setenv("SUTRA_CONTROL_TOKEN", TOKEN)
    monkeypatch.setenv("SUTRA_CONTROL_TOKEN_FILE", str(token))
    with pytest.raises(
        SettingFileError, match="set SUTRA_CONTROL_TOKEN or SUTRA_CONTROL_TOKEN_FILE"
    ):
        ControlSettings()


@pytest.mark.parametrize("module", sorted(SECRET_SETTINGS))
def test_a_missing_secret_file_stops_the_service_with_one_line(module: str, tmp_path: Path) -> None:
    variable = SECRET_SETTINGS[module] + "_FILE"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUTRA_")}
    env |= {variable: str(tmp_path / "absent"), STORAGE_CLIENTS[module]: str(free_port())}
    done = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert f"{variable}: cannot read {tmp_path / 'absent'}" in line, line
