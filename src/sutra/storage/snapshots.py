"""Snapshot directories: written atomically, verified before they are trusted.

A snapshot is a directory holding the compacted LMDB file `data.mdb` and a manifest
`snapshot.json` (sequence, counters, size, sha256). It is assembled in a hidden temporary
sibling, fsynced, and renamed into place, so a reader never finds a half-written
snapshot under its final name and a crash leaves only a `.tmp-` directory to sweep.
Restoring is copying `data.mdb` into an empty data directory; the server rebuilds the
vector index from the store on its first start.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from sutra.storage.model import SnapshotInfo

DATA_FILE = "data.mdb"
MANIFEST = "snapshot.json"
FORMAT = "sutra-storage-snapshot/1"
TMP_MARK = ".tmp-"
# UTC timestamp names sort chronologically: 20261127T114512Z (a -N suffix on a clash).
NAME_PATTERN = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")


class SnapshotError(Exception):
    """A snapshot cannot be written or installed (exists, not empty, unwritable)."""


class SnapshotCorrupt(SnapshotError):
    """A snapshot failed verification: checksum, size, LMDB structure or counters."""


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SnapshotWriter:
    """Write one snapshot into `destination` (which must not exist) all or nothing."""

    def __init__(self, destination: Path) -> None:
        self.destination = destination
        if destination.exists():
            raise SnapshotError(f"{destination} already exists; a snapshot never overwrites")
        parent = destination.parent
        if not parent.is_dir():
            raise SnapshotError(f"{parent} is not a directory")
        self.tmp = parent / f".{destination.name}{TMP_MARK}{secrets.token_hex(4)}"
        self.tmp.mkdir()
        self._file: IO[bytes] | None = open(self.tmp / DATA_FILE, "wb")  # noqa: SIM115
        self._hash = hashlib.sha256()
        self.size = 0
        self._done = False

    def write(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)
        self._hash.update(data)
        self.size += len(data)

    def commit(
        self,
        *,
        sequence: int,
        concepts: int,
        associations: int,
        vectors: int,
        created_at: float,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
    ) -> SnapshotInfo:
        """Check size and checksum, fsync, write the manifest, rename into place."""
        assert self._file is not None
        digest = self._hash.hexdigest()
        if expected_size is not None and expected_size != self.size:
            raise SnapshotCorrupt(f"snapshot truncated: got {self.size} of {expected_size} bytes")
        if expected_sha256 is not None and expected_sha256 != digest:
            raise SnapshotCorrupt(f"snapshot checksum mismatch: {digest} != {expected_sha256}")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        info = SnapshotInfo(
            path=str(self.destination),
            size_bytes=self.size,
            sha256=digest,
            sequence=sequence,
            concepts=concepts,
            associations=associations,
            vectors=vectors,
            created_at=created_at,
        )
        manifest = {"format": FORMAT, "file": DATA_FILE, **asdict(info)}
        del manifest["path"]
        with open(self.tmp / MANIFEST, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        fsync_dir(self.tmp)
        os.rename(self.tmp, self.destination)
        fsync_dir(self.destination.parent)
        self._done = True
        return info

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if not self._done:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


def timestamped_destination(root: Path, now: float | None = None) -> Path:
    """root/<UTC timestamp>, with a -N suffix when two snapshots share a second."""
    name = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))
    candidate = root / name
    n = 1
    while candidate.exists():
        candidate = root / f"{name}-{n}"
        n += 1
    return candidate


def list_snapshots(root: Path) -> list[Path]:
    """Complete snapshots under `root`, oldest first."""
    if not root.is_dir():
        return []
    found = [
        p
        for p in root.iterdir()
        if p.is_dir() and NAME_PATTERN.match(p.name) and (p / MANIFEST).is_file()
    ]

    def order(p: Path) -> tuple[str, int]:
        base, _, suffix = p.name.partition("-")
        return base, int(suffix or 0)

    return sorted(found, key=order)


def prune(root: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` snapshots and any leftover temporary directories."""
    removed: list[Path] = []
    snapshots = list_snapshots(root)
    for old in snapshots[: max(0, len(snapshots) - keep)]:
        shutil.rmtree(old)
        removed.append(old)
    for leftover in root.iterdir() if root.is_dir() else ():
        if leftover.name.startswith(".") and TMP_MARK in leftover.name and leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover)
    return removed


def read_manifest(snapshot: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((snapshot / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SnapshotCorrupt(f"{snapshot} has no {MANIFEST}: not a snapshot") from None
    except (OSError, ValueError) as exc:
        raise SnapshotCorrupt(f"{snapshot / MANIFEST} is unreadable: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise SnapshotCorrupt(
            f"{snapshot} has format {manifest.get('format')!r}, expected {FORMAT}"
        )
    return manifest


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_snapshot(snapshot: Path) -> SnapshotInfo:
    """Checksum, LMDB structure and counters against the manifest; the info, or SnapshotError."""
    import lmdb
    import lmdb.verify

    from sutra.storage.layout import MAX_DBS, open_databases, read_meta

    manifest = read_manifest(snapshot)
    data = snapshot / DATA_FILE
    if not data.is_file():
        raise SnapshotCorrupt(f"{data} is missing")
    size = data.stat().st_size
    if size != manifest["size_bytes"]:
        raise SnapshotCorrupt(
            f"{data} has {size} bytes, the manifest says {manifest['size_bytes']}"
        )
    digest = sha256_file(data)
    if digest != manifest["sha256"]:
        raise SnapshotCorrupt(f"{data} checksum {digest} does not match the manifest")
    problems = lmdb.verify.verify(str(snapshot))
    if problems:
        raise SnapshotCorrupt(f"{data} is not a sound LMDB file: {problems[0]}")
    env = lmdb.open(str(snapshot), readonly=True, lock=False, max_dbs=MAX_DBS)
    try:
        dbs = open_databases(env, create=False)
        with env.begin() as txn:
            meta = read_meta(txn, dbs.meta)
            counted = {
                "concepts": txn.stat(dbs.concepts)["entries"],
                "associations": txn.stat(dbs.edges)["entries"] // 2,
                "vectors": txn.stat(dbs.vectors)["entries"],
            }
    except lmdb.Error as exc:
        raise SnapshotCorrupt(f"{data} does not open as a store: {exc}") from None
    finally:
        env.close()
    for key in ("sequence", "concepts", "associations", "vectors"):
        if meta[key] != manifest[key]:
            raise SnapshotCorrupt(
                f"{data}: {key} is {meta[key]}, the manifest says {manifest[key]}"
            )
    for key, value in counted.items():
        if meta[key] != value:
            raise SnapshotCorrupt(f"{data}: {value} {key} stored but the counter says {meta[key]}")
    return SnapshotInfo(
        path=str(snapshot),
        size_bytes=size,
        sha256=digest,
        sequence=meta["sequence"],
        concepts=meta["concepts"],
        associations=meta["associations"],
        vectors=meta["vectors"],
        created_at=float(manifest.get("created_at", 0.0)),
    )


def _in_use(data_dir: Path) -> bool:
    """True while a server holds the store's owner lock (see Engine._take_ownership)."""
    import fcntl

    lock_path = data_dir / "server.lock"
    if not lock_path.is_file():
        return False
    with open(lock_path, "ab") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return False


def restore(snapshot: Path, data_dir: Path, *, force: bool = False) -> SnapshotInfo:
    """Verify `snapshot` and install it as the store in `data_dir` (empty unless `force`)."""
    info = verify_snapshot(snapshot)
    if data_dir.exists() and not data_dir.is_dir():
        raise SnapshotError(f"{data_dir} is not a directory")
    if _in_use(data_dir):
        raise SnapshotError(f"a storage server is running on {data_dir}; stop it first")
    if data_dir.is_dir() and any(data_dir.iterdir()):
        if not force:
            raise SnapshotError(f"{data_dir} is not empty; pass --force to replace its store")
        for child in data_dir.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / f".{DATA_FILE}{TMP_MARK}{secrets.token_hex(4)}"
    try:
        shutil.copyfile(snapshot / DATA_FILE, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.rename(tmp, data_dir / DATA_FILE)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(data_dir)
    return info
