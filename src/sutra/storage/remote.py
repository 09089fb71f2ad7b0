"""Snapshots in an S3 bucket: `s3://BUCKET/PREFIX/<UTC timestamp>/{data.mdb,snapshot.json}`.

A snapshot is complete when its manifest exists: `data.mdb` is uploaded first and the
manifest last, so a reader never takes a half-uploaded snapshot. The uploaded manifest
also holds the store's log sequence (`log_sequence`), so a follower can choose a snapshot
by reading manifests only. Credentials come from boto3's usual chain (AWS_* variables,
AWS_X_FILE for mounted secrets, as `sutra client publish`); AWS_ENDPOINT_URL names a
non-AWS endpoint. boto3 is imported only here (the `publish` extra, and the storage image).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sutra.storage import snapshots

LOG_SEQUENCE = "log_sequence"


class RemoteError(Exception):
    """The bucket cannot be read or written (one line, for the CLI and the server)."""


@dataclass(frozen=True)
class Remote:
    bucket: str
    prefix: str  # "" or "a/b/"

    def key(self, *parts: str) -> str:
        return self.prefix + "/".join(parts)

    def url(self, name: str) -> str:
        return f"s3://{self.bucket}/{self.key(name)}"


def is_remote(location: str | Path | None) -> bool:
    return isinstance(location, str) and location.startswith("s3://")


def parse(url: str) -> Remote:
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise RemoteError(f"expected s3://BUCKET/PREFIX, got {url!r}")
    prefix = "/".join(part for part in parts.path.split("/") if part)
    return Remote(parts.netloc, prefix + "/" if prefix else "")


def client() -> Any:
    from sutra.client.publish import s3_client

    return s3_client(None)  # AWS_ENDPOINT_URL, when set, is read by boto3 itself


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or name-N when the bucket holds it already (two snapshots in one second)."""
    candidate, n = name, 1
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate


def upload(snapshot: Path, url: str, log_sequence: int) -> str:
    """Upload a verified local snapshot under its name (never over another); its s3:// URL."""
    remote = parse(url)
    name = _unique(snapshot.name.partition("-")[0], {n for n, _ in listing(url)})
    s3 = client()
    try:
        s3.upload_file(
            str(snapshot / snapshots.DATA_FILE),
            remote.bucket,
            remote.key(name, snapshots.DATA_FILE),
        )
        manifest = {**snapshots.read_manifest(snapshot), LOG_SEQUENCE: log_sequence}
        s3.put_object(
            Bucket=remote.bucket,
            Key=remote.key(name, snapshots.MANIFEST),
            Body=json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n",
            ContentType="application/json",
        )
    except Exception as exc:
        raise RemoteError(f"cannot upload to {remote.url(name)}: {exc}") from None
    return remote.url(name)


def listing(url: str) -> list[tuple[str, int]]:
    """(name, log sequence) of the complete snapshots under `url`, oldest first."""
    remote = parse(url)
    s3 = client()
    names = []
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=remote.bucket, Prefix=remote.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                name, _, leaf = item["Key"][len(remote.prefix) :].partition("/")
                if leaf == snapshots.MANIFEST and snapshots.NAME_PATTERN.match(name):
                    names.append(name)
        found = []
        for name in sorted(names, key=_order):
            body = s3.get_object(Bucket=remote.bucket, Key=remote.key(name, snapshots.MANIFEST))
            manifest = json.loads(body["Body"].read())
            found.append((name, int(manifest.get(LOG_SEQUENCE, 0))))
    except RemoteError:
        raise
    except Exception as exc:
        raise RemoteError(f"cannot list {url}: {exc}") from None
    return found


def _order(name: str) -> tuple[str, int]:
    base, _, suffix = name.partition("-")
    return base, int(suffix or 0)


def download(url: str, name: str, into: Path) -> Path:
    """Download snapshot `name` into the new directory `into`/name and verify it."""
    remote = parse(url)
    s3 = client()
    target = into / name
    target.mkdir(parents=True)
    try:
        for leaf in (snapshots.DATA_FILE, snapshots.MANIFEST):
            s3.download_file(remote.bucket, remote.key(name, leaf), str(target / leaf))
    except Exception as exc:
        raise RemoteError(f"cannot download {remote.url(name)}: {exc}") from None
    snapshots.verify_snapshot(target)
    return target


def prune(url: str, keep: int) -> list[str]:
    """Delete all but the newest `keep` snapshots under `url`; their URLs."""
    remote = parse(url)
    s3 = client()
    removed = []
    names = [name for name, _ in listing(url)]
    for name in names[: max(0, len(names) - keep)]:
        for leaf in (snapshots.MANIFEST, snapshots.DATA_FILE):  # the manifest first
            s3.delete_object(Bucket=remote.bucket, Key=remote.key(name, leaf))
        removed.append(remote.url(name))
    return removed


def snapshot_to_bucket(storage: Any, url: str, keep: int | None) -> tuple[Any, str, list[str]]:
    """Stream a snapshot from a server (a StorageClient) and upload it; (info, url, pruned)."""
    from sutra.storage.replication.bootstrap import read_log_sequence

    parse(url)  # a bad URL fails before the transfer
    with tempfile.TemporaryDirectory(prefix="sutra-snapshot-") as directory:
        info = storage.download_snapshot(Path(directory))
        local = Path(info.path)
        uploaded = upload(local, url, read_log_sequence(local))
    pruned = prune(url, keep) if keep is not None else []
    return info, uploaded, pruned
