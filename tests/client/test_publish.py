"""`sutra client publish` against a real S3-protocol server (`rclone serve s3` on 127.0.0.1),
and the published site in the browser, served from the bucket's objects with their headers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from sutra.client.bundle import STATIC, build
from sutra.client.headers import IMMUTABLE, NO_CACHE
from sutra.client.publish import STATE, parse_target, publish
from sutra.common.testing import dead_url, free_port, poll

SUTRA = str(Path(sys.executable).with_name("sutra"))
RCLONE = shutil.which("rclone", path=str(Path(sys.executable).parent)) or "rclone"
BUCKET = "sutra-ui"
KEY_ID = "AKIASUTRATESTKEY0001"  # 20 characters, like an AWS access key id
SECRET = "sutraTestSecretKey0123456789abcdefghijKL"  # 40, like a secret access key
ASSET_COUNT = 4


@dataclass
class S3Server:
    url: str
    root: Path

    def env(self) -> dict[str, str]:
        """The variables a CI job would set; nothing of this machine's AWS set-up leaks in."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        return {
            **clean,
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}),
        )


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    root = tmp_path_factory.mktemp("s3")
    (root / BUCKET).mkdir()
    port = free_port()
    log = open(root.parent / "rclone.log", "wb")  # noqa: SIM115 (closed below)
    command = [RCLONE, "serve", "s3", "--auth-key", f"{KEY_ID},{SECRET}", "--addr"]
    process = subprocess.Popen(
        [*command, f"127.0.0.1:{port}", str(root)],  # every write goes through its cache
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )
    server = S3Server(f"http://127.0.0.1:{port}", root)
    try:
        poll(lambda: process.poll() is None and _answers(server), timeout=30, what="rclone s3")
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _answers(server: S3Server) -> bool:
    try:
        return BUCKET in {b["Name"] for b in server.client().list_buckets()["Buckets"]}
    except Exception:
        return False


def sutra_publish(s3: S3Server, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SUTRA, "client", "publish", "--to", f"s3://{BUCKET}/{prefix}", *args],
        env=s3.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def objects(s3: S3Server, prefix: str) -> set[str]:
    pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"][len(prefix) :] for page in pages for item in page.get("Contents", [])}


def test_publish_uploads_every_file_with_its_cache_policy_then_nothing_new(s3: S3Server) -> None:
    first = sutra_publish(s3, "site1", "--api-base", "https://api.example.com")
    assert first.returncode == 0, first.stderr
    assert f"1/3 assets: uploaded {ASSET_COUNT}, already there 0" in first.stdout
    assert "2/3 switched index.html and config.js" in first.stdout
    assert "3/3 old assets: deleted 0, kept 0" in first.stdout
    bundle = build("https://api.example.com")
    assert objects(s3, "site1/") == set(bundle.files) | {STATE}
    client = s3.client()
    for path in bundle.assets.values():
        head = client.head_object(Bucket=BUCKET, Key=f"site1/{path}")
        assert head["CacheControl"] == IMMUTABLE, path
    for path, kind in [("index.html", "text/html"), ("config.js", "text/javascript")]:
        head = client.head_object(Bucket=BUCKET, Key=f"site1/{path}")
        assert head["CacheControl"] == NO_CACHE and head["ContentType"].startswith(kind)
    css = client.head_object(Bucket=BUCKET, Key=f"site1/{bundle.assets['style.css']}")
    assert css["ContentType"].startswith("text/css")
    body = client.get_object(Bucket=BUCKET, Key="site1/config.js")["Body"].read()
    assert b'"apiBase": "https://api.example.com"' in body

    again = sutra_publish(s3, "site1", "--api-base", "https://api.example.com")
    assert again.returncode == 0, again.stderr
    assert f"1/3 assets: uploaded 0, already there {ASSET_COUNT}" in again.stdout


def test_replaced_assets_stay_for_the_grace_period_then_go(s3: S3Server, tmp_path: Path) -> None:
    static = tmp_path / "static"
    shutil.copytree(STATIC, static)
    with open(static / "app.js", "a") as js:
        js.write("\n// an earlier release\n")
    earlier = build(static=static)
    publish(earlier, parse_target(f"s3://{BUCKET}/site2"), s3.client(), grace_seconds=0)
    old_app = earlier.assets["app.js"]
    current = build()
    assert old_app != current.assets["app.js"]

    kept = sutra_publish(s3, "site2", "--grace-seconds", "3600")
    assert kept.returncode == 0, kept.stderr
    assert "1/3 assets: uploaded 1, already there 3" in kept.stdout
    assert "3/3 old assets: deleted 0, kept 1" in kept.stdout
    assert old_app in objects(s3, "site2/")
    index = s3.client().get_object(Bucket=BUCKET, Key="site2/index.html")["Body"].read()
    assert current.assets["app.js"].encode() in index and old_app.encode() not in index
    state = json.loads(s3.client().get_object(Bucket=BUCKET, Key=f"site2/{STATE}")["Body"].read())
    assert set(state["assets"]) == {f"site2/{p}" for p in [*current.assets.values(), old_app]}

    gone = sutra_publish(s3, "site2", "--grace-seconds", "0")
    assert gone.returncode == 0, gone.stderr
    assert "3/3 old assets: deleted 1, kept 0" in gone.stdout
    assert objects(s3, "site2/") == set(current.files) | {STATE}


def test_the_invalidate_command_runs_after_the_switch(s3: S3Server, tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    command = f"{sys.executable} -c \"open({str(seen)!r}, 'w').write('ok')\""
    done = sutra_publish(s3, "site3", "--invalidate-command", command)
    assert done.returncode == 0, done.stderr
    assert seen.read_text() == "ok"
    assert done.stdout.index("2/3") < done.stdout.index("invalidated") < done.stdout.index("3/3")
    failing = sutra_publish(s3, "site3", "--invalidate-command", f"{sys.executable} -c 'exit(3)'")
    assert failing.returncode == 2 and "3/3" not in failing.stdout
    assert "--invalidate-command exited with 3" in failing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "https://bucket/site"], "expected s3://BUCKET/PREFIX"),
        (["--to", "s3://"], "expected s3://BUCKET/PREFIX"),
        (["--to", "s3://b/p", "--endpoint-url", "DEAD"], "Could not connect to the endpoint"),
        (["--to", "s3://b/p", "--api-base", "ftp://x"], "--api-base"),
        (["--to", "s3://b/p", "--grace-seconds", "-1"], "--grace-seconds"),
    ],
)
def test_a_bad_target_or_an_unreachable_endpoint_is_one_line_and_exit_2(
    s3: S3Server, args: list[str], message: str
) -> None:
    args = [dead_url() if a == "DEAD" else a for a in args]
    done = subprocess.run(
        [SUTRA, "client", "publish", *args],
        env=s3.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr


def serve_bucket(s3: S3Server, prefix: str) -> ThreadingHTTPServer:
    """The bucket as a CDN origin: each object with the Content-Type and Cache-Control it was
    stored with, read back over the S3 protocol."""
    client = s3.client()

    class Origin(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].lstrip("/") or "index.html"
            try:
                found = client.get_object(Bucket=BUCKET, Key=prefix + path)
            except client.exceptions.NoSuchKey:
                self.send_error(404)
                return
            body = found["Body"].read()
            self.send_response(200)
            self.send_header("Content-Type", found["ContentType"])
            self.send_header("Cache-Control", found["CacheControl"])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_published_site_loads_in_the_browser(s3: S3Server, browser_page: Any) -> None:
    api = dead_url()
    done = sutra_publish(s3, "site4", "--api-base", api)
    assert done.returncode == 0, done.stderr
    origin = serve_bucket(s3, "site4/")
    try:
        page = browser_page.page
        page.goto(f"http://127.0.0.1:{origin.server_address[1]}/")
        page.wait_for_function("document.body.dataset.state === 'api-down'")
        assert "The Sutra API is unavailable" in page.inner_text("#notice")
        assert f"API: {api}" in page.inner_text("body")
        browser_page.screenshot("published-api-unreachable")
    finally:
        origin.shutdown()
        origin.server_close()
    assert browser_page.errors_except("ERR_CONNECTION_REFUSED", "Failed to fetch") == []


def test_credentials_may_come_from_mounted_files_and_wrong_ones_are_refused(
    s3: S3Server, tmp_path: Path
) -> None:
    (tmp_path / "id").write_text(KEY_ID + "\n")
    (tmp_path / "secret").write_text(SECRET + "\n")
    env = {
        k: v for k, v in s3.env().items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    env["AWS_ACCESS_KEY_ID_FILE"] = str(tmp_path / "id")
    env["AWS_SECRET_ACCESS_KEY_FILE"] = str(tmp_path / "secret")
    command = [SUTRA, "client", "publish", "--to", f"s3://{BUCKET}/site5"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "index.html" in objects(s3, "site5/")

    (tmp_path / "secret").write_text(SECRET[::-1])
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "s3://sutra-ui/site5/" in refused.stderr
