"""The CDN bundle: content-hashed asset names, an index.html that names them, config.js."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from sutra.client.bundle import (
    ASSET_SOURCES,
    STATIC,
    build,
    normalise_api_base,
    write,
)
from sutra.client.headers import IMMUTABLE, NO_CACHE, content_security_policy


def copy_static(tmp_path: Path) -> Path:
    static = tmp_path / "static"
    shutil.copytree(STATIC, static)
    return static


def test_every_asset_has_a_content_hashed_name_that_index_html_references() -> None:
    bundle = build()
    index = bundle.files["index.html"].decode()
    assert set(bundle.assets) == set(ASSET_SOURCES)
    for name, path in bundle.assets.items():
        stem, suffix = name.rsplit(".", 1)
        assert re.fullmatch(rf"assets/{re.escape(stem)}\.[0-9a-f]{{12}}\.{suffix}", path)
        assert bundle.files[path] == (STATIC / name).read_bytes()
        assert f'"{path}"' in index
    assert "{{" not in index
    # Referenced scripts and styles are files: nothing inline for the CSP to allow.
    assert "<style" not in index and not re.search(r"<script(?![^>]*\bsrc=)", index)
    assert not re.search(r"\s(style|on[a-z]+)=", index)


def test_a_changed_file_changes_its_name_and_only_its_name(tmp_path: Path) -> None:
    static = copy_static(tmp_path)
    before = build(static=static)
    with open(static / "app.js", "a") as js:
        js.write("\n// changed\n")
    after = build(static=static)
    assert after.assets["app.js"] != before.assets["app.js"]
    assert {k: v for k, v in after.assets.items() if k != "app.js"} == {
        k: v for k, v in before.assets.items() if k != "app.js"
    }
    assert after.assets["app.js"] in after.files["index.html"].decode()
    assert before.assets["app.js"] not in after.files["index.html"].decode()


def test_index_html_may_name_only_bundle_assets(tmp_path: Path) -> None:
    static = copy_static(tmp_path)
    index = static / "index.html"
    index.write_text(index.read_text().replace("{{app.js}}", "{{missing.js}}"))
    with pytest.raises(ValueError, match=r"missing\.js"):
        build(static=static)


def test_the_api_base_is_set_in_config_js_and_allowed_by_the_csp() -> None:
    default = build()
    assert (
        default.files["config.js"].decode().endswith('window.SUTRA_CONFIG = {"apiBase": "/api"};\n')
    )
    elsewhere = build("https://api.example.com/v1/")
    assert '{"apiBase": "https://api.example.com/v1"}' in elsewhere.files["config.js"].decode()
    headers = elsewhere.files["_headers"].decode()
    assert content_security_policy("https://api.example.com/v1") in headers
    assert "connect-src 'self' https://api.example.com;" in headers
    assert "connect-src 'self';" in default.files["_headers"].decode()
    # the assets do not depend on where the API is
    assert elsewhere.assets == default.assets


@pytest.mark.parametrize(
    "value", ["", "api", "//cdn.example.com", "ftp://x", "http://", "/api?x=1", "/a b", "/api#x"]
)
def test_a_bad_api_base_is_refused_with_the_value(value: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        normalise_api_base(value)


def test_manifest_and_headers_give_each_file_its_cache_policy() -> None:
    bundle = build()
    manifest = json.loads(bundle.files["manifest.json"])
    files = manifest["files"]
    assert set(files) == set(bundle.files) - {"manifest.json", "_headers"}
    for path, entry in files.items():
        expected = IMMUTABLE if path.startswith("assets/") else NO_CACHE
        assert entry["cache_control"] == expected, path
        assert entry["bytes"] == len(bundle.files[path])
    assert files["index.html"]["content_type"] == "text/html; charset=utf-8"
    headers = bundle.files["_headers"].decode()
    assert f"/assets/*\n  Cache-Control: {IMMUTABLE}\n" in headers
    assert f"/index.html\n  Cache-Control: {NO_CACHE}\n" in headers
    assert f"/config.js\n  Cache-Control: {NO_CACHE}\n" in headers


def test_writing_replaces_an_earlier_bundle_but_never_foreign_files(tmp_path: Path) -> None:
    out = tmp_path / "site"
    static = copy_static(tmp_path)
    first = build(static=static)
    write(first, out)
    with open(static / "style.css", "a") as css:
        css.write("\n/* changed */\n")
    second = build(static=static)
    write(second, out)
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk == set(second.files)
    assert (out / "index.html").read_bytes() == second.files["index.html"]

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        write(second, foreign)
    assert [p.name for p in foreign.iterdir()] == ["keep.txt"]
