"""Snapshots in an S3 bucket (`rclone serve s3` on 127.0.0.1): taken with
`sutra storage snapshot --to s3://...`, and a new follower bootstrapping from the newest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sutra.common.testing import free_port, poll
from sutra.storage import remote
from sutra.storage.replication.nats import LogStream
from sutra.storage.testing import ServerProcess
from tests.replication.support import Shard

RCLONE = shutil.which("rclone", path=str(Path(sys.executable).parent)) or "rclone"
BUCKET = "sutra-snapshots"
KEY_ID = "AKIASUTRATESTKEY0002"
SECRET = "sutraTestSecretKey0123456789abcdefghijKM"


@pytest.fixture(scope="module")
def s3_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("s3")
    (root / BUCKET).mkdir()
    port = free_port()
    with open(root.parent / "rclone.log", "wb") as log:
        command = [RCLONE, "serve", "s3", "--auth-key", f"{KEY_ID},{SECRET}", "--addr"]
        process = subprocess.Popen(
            [*command, f"127.0.0.1:{port}", str(root)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    env = {
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # for remote.listing() in this process
    try:
        poll(lambda: _answers(process), timeout=30, what="rclone serve s3")
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        process.terminate()
        process.wait(timeout=30)


def _answers(process: subprocess.Popen[bytes]) -> bool:
    try:
        return process.poll() is None and remote.listing(f"s3://{BUCKET}/probe") == []
    except remote.RemoteError:
        return False


def _snapshot(shard: Shard, env: dict[str, str], url: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sutra.cli", "storage", "snapshot", "--to", url]
    return subprocess.run(
        [*command, "--keep", "2", "--server", shard.address("writer")],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_follower_bootstraps_from_the_newest_snapshot_in_a_bucket(
    shard: Shard, s3_env: dict[str, str]
) -> None:
    url = f"s3://{BUCKET}/{shard.stream}"
    shard.start("writer", "writer")
    with shard.client("writer") as client:
        for round_ in range(3):
            for i in range(5):
                client.learn_concept(f"round {round_} fact {i}")
            taken = _snapshot(shard, s3_env, url)
            assert taken.returncode == 0, taken.stderr
            assert taken.stdout.startswith(f"{url}/")
        client.learn_concept("after the last snapshot")
        token = client.last_token
    listed = remote.listing(url)
    assert len(listed) == 2  # --keep 2 pruned the first
    newest = listed[-1][1]
    assert 0 < listed[0][1] < newest < token
    shard.env_extra = {**s3_env, "SUTRA_STORAGE_SNAPSHOT_DIR": url}
    follower = shard.start("f1", "follower")
    assert f'"sequence":{newest}' in follower.log()
    digests = shard.digests(["writer", "f1"], token)
    assert digests["writer"]["sha256"] == digests["f1"]["sha256"]


def test_a_bad_bucket_url_is_one_line(shard: Shard, s3_env: dict[str, str]) -> None:
    shard.members["writer"] = ServerProcess(None, Path(), address="127.0.0.1:1")  # type: ignore[arg-type]
    result = _snapshot(shard, s3_env, "s3://")
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "sutra storage snapshot: expected s3://BUCKET/PREFIX, got 's3://'"
    )


def _stream_config(shard: Shard, max_age: float | None = None) -> tuple[float, int, int]:
    """(max_age, first, last) of the shard's stream; with `max_age`, set it first (as a writer)."""
    log = LogStream(shard.nats_url, shard.stream, max_age=max_age or 0.0)
    try:
        log.connect(create=max_age is not None)
        first, last = log.bounds()
        info = log._run(log._js.stream_info(shard.stream))
        return float(info.config.max_age or 0), first, last
    finally:
        log.close()


def test_the_log_keeps_entries_max_age_and_an_aged_out_follower_restores_from_the_bucket(
    shard: Shard, s3_env: dict[str, str]
) -> None:
    url = f"s3://{BUCKET}/aged-{shard.stream}"
    shard.env_extra = {**s3_env, "SUTRA_STORAGE_STREAM_MAX_AGE_SECONDS": "3600"}
    shard.start("writer", "writer")
    assert _stream_config(shard)[0] == 3600  # created with the writer's setting
    shard.env_extra = {**s3_env, "SUTRA_STORAGE_SNAPSHOT_DIR": url}
    shard.start("f1", "follower")
    with shard.client("writer") as client:
        client.learn_concept("seen by f1")
        position = client.last_token
        shard.digests(["f1"], position)
        shard.kill("f1")
        client.learn_concept("missed by f1")
        assert _snapshot(shard, s3_env, url).returncode == 0  # older, will not reach
        # A writer with a shorter retention updates the stream: f1's next entry ages out.
        assert _stream_config(shard, max_age=1.0)[0] == 1.0
        poll(lambda: _stream_config(shard)[1] > position + 1, timeout=30, what="aging out")
        assert _stream_config(shard, max_age=3600.0)[0] == 3600
        taken = _snapshot(shard, s3_env, url)
        assert taken.returncode == 0, taken.stderr
        client.learn_concept("after the newest snapshot")
        token = client.last_token
    newest = remote.listing(url)[-1][1]
    follower = shard.start("f1", "follower")
    assert f'"sequence":{newest}' in follower.log()
    digests = shard.digests(["writer", "f1"], token)
    assert digests["writer"]["sha256"] == digests["f1"]["sha256"]
