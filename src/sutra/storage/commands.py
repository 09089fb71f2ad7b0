"""`sutra storage ...`: serve, snapshot, restore and inspect the storage server.

Exit codes: 0 done; 1 a snapshot failed verification (checksum, structure or counters);
2 usage or operational error (server unreachable, refusing to overwrite, bad arguments),
always as one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

DEFAULT_SERVER = "127.0.0.1:50051"


def _default_server() -> str:
    return os.environ.get("SUTRA_STORAGE_SERVER", DEFAULT_SERVER)


def _error(command: str, message: str, code: int = 2) -> int:
    print(f"sutra storage {command}: {message}", file=sys.stderr)
    return code


def register(subparsers: argparse._SubParsersAction) -> None:
    storage = subparsers.add_parser(
        "storage",
        help="run and operate the storage server",
        description="Run the storage server, take and restore snapshots, show its counters.",
    )
    commands = storage.add_subparsers(dest="storage_command", metavar="SUBCOMMAND")
    storage.set_defaults(func=lambda _args: (storage.print_help(sys.stderr), 2)[1])

    serve = commands.add_parser(
        "serve", help="serve the store (settings from SUTRA_* variables), like python -m"
    )
    serve.set_defaults(func=_serve)

    server_help = f"host:port of the server (default: $SUTRA_STORAGE_SERVER or {DEFAULT_SERVER})"
    snapshot = commands.add_parser(
        "snapshot",
        help="stream a consistent snapshot from the server into DIR/<UTC timestamp>/",
        description=(
            "Stream a consistent compacted copy of the store from a running server into a "
            "new DIR/<UTC timestamp>/ (written in a temporary directory, checksum verified, "
            "then renamed), print its path and size, and optionally prune old snapshots."
        ),
    )
    snapshot.add_argument(
        "--to", dest="to", required=True, metavar="DIR", help="a directory, or s3://BUCKET/PREFIX"
    )
    snapshot.add_argument("--server", default=None, metavar="ADDR", help=server_help)
    snapshot.add_argument(
        "--keep", type=int, default=None, metavar="N", help="keep only the newest N snapshots"
    )
    snapshot.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds for the whole transfer"
    )
    snapshot.set_defaults(func=_snapshot)

    restore = commands.add_parser(
        "restore",
        help="verify a snapshot and install it as the store of a data directory",
        description=(
            "Verify a snapshot (checksum, LMDB structure, counters) and copy it into DATA_DIR, "
            "which must be empty unless --force. Start the server on DATA_DIR afterwards; it "
            "rebuilds its vector index from the store."
        ),
    )
    restore.add_argument("--from", dest="source", type=Path, required=True, metavar="SNAPSHOT")
    restore.add_argument("--to", dest="to", type=Path, required=True, metavar="DATA_DIR")
    restore.add_argument("--force", action="store_true", help="replace an existing store")
    restore.set_defaults(func=_restore)

    stats = commands.add_parser("stats", help="print the server's counters")
    stats.add_argument("--server", default=None, metavar="ADDR", help=server_help)
    stats.add_argument("--json", action="store_true", help="one JSON object")
    stats.add_argument("--timeout", type=float, default=5.0)
    stats.set_defaults(func=_stats)

    status = commands.add_parser(
        "status",
        help="each member of the shard: role, address, applied log sequence and lag",
    )
    status.add_argument("--server", default=None, metavar="ADDR", help=server_help)
    status.add_argument(
        "--readers",
        default=None,
        metavar="ADDR,ADDR",
        help="the read followers (default: $SUTRA_STORAGE_READERS)",
    )
    status.add_argument("--json", action="store_true", help="one JSON object")
    status.add_argument("--timeout", type=float, default=5.0)
    status.set_defaults(func=_status)

    from sutra.storage.shards import check, reshard_command

    check.register(commands, _error)
    reshard_command.register(commands, _error)


def _serve(_args: argparse.Namespace) -> int:
    from sutra.storage.server import main

    return main()


def _snapshot(args: argparse.Namespace) -> int:
    from sutra.storage import snapshots
    from sutra.storage.client import StorageClient, StorageError

    if args.keep is not None and args.keep < 1:
        return _error("snapshot", f"--keep must be at least 1, got {args.keep}")
    server = args.server or _default_server()
    if args.to.startswith("s3://"):
        return _snapshot_to_bucket(args, server)
    args.to = Path(args.to)
    try:
        with StorageClient(server, snapshot_timeout=args.timeout) as client:
            info = client.download_snapshot(args.to)
    except StorageError as exc:
        return _error("snapshot", exc.message)
    except snapshots.SnapshotCorrupt as exc:
        return _error("snapshot", str(exc), 1)
    except snapshots.SnapshotError as exc:
        return _error("snapshot", str(exc))
    except OSError as exc:
        return _error("snapshot", f"cannot write into {args.to}: {exc}")
    print(f"{info.path} {info.size_bytes} bytes sequence {info.sequence} sha256 {info.sha256}")
    if args.keep is not None:
        for removed in snapshots.prune(args.to, args.keep):
            print(f"removed {removed}")
    return 0


def _snapshot_to_bucket(args: argparse.Namespace, server: str) -> int:
    from sutra.storage import remote, snapshots
    from sutra.storage.client import StorageClient, StorageError

    try:
        with StorageClient(server, snapshot_timeout=args.timeout) as client:
            info, url, pruned = remote.snapshot_to_bucket(client, args.to, args.keep)
    except StorageError as exc:
        return _error("snapshot", exc.message)
    except snapshots.SnapshotCorrupt as exc:
        return _error("snapshot", str(exc), 1)
    except (remote.RemoteError, snapshots.SnapshotError, OSError) as exc:
        return _error("snapshot", str(exc))
    print(f"{url} {info.size_bytes} bytes sequence {info.sequence} sha256 {info.sha256}")
    for removed in pruned:
        print(f"removed {removed}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from sutra.storage import snapshots

    source: Path = args.source
    if not source.is_dir():
        return _error("restore", f"{source} is not a directory")
    if not (source / snapshots.MANIFEST).is_file():
        return _error("restore", f"{source} has no {snapshots.MANIFEST}: not a snapshot")
    try:
        info = snapshots.restore(source, args.to, force=args.force)
    except snapshots.SnapshotCorrupt as exc:
        return _error("restore", str(exc), 1)
    except snapshots.SnapshotError as exc:
        return _error("restore", str(exc))
    except OSError as exc:
        return _error("restore", f"cannot write {args.to}: {exc}")
    print(
        f"restored {source} into {args.to}: {info.concepts} concepts, "
        f"{info.associations} associations, {info.vectors} vectors, sequence {info.sequence}"
    )
    return 0


def _stats(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from sutra.storage.client import StorageClient, StorageError

    server = args.server or _default_server()
    try:
        with StorageClient(server, timeout=args.timeout) as client:
            stats = client.stats()
    except StorageError as exc:
        return _error("stats", exc.message)
    values = asdict(stats)
    if args.json:
        print(json.dumps(values, sort_keys=True))
    else:
        width = max(len(key) for key in values)
        for key, value in values.items():
            print(f"{key:<{width}}  {value}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from sutra.storage.replication.status import format_table, shard_status
    from sutra.storage.routing import readers_from_env

    readers = (
        readers_from_env()
        if args.readers is None
        else [part.strip() for part in args.readers.split(",") if part.strip()]
    )
    members, failures = shard_status([args.server or _default_server(), *readers], args.timeout)
    if args.json:
        print(json.dumps({"members": members}))
    else:
        print(format_table(members))
    for address, message in failures:
        _error("status", f"{address}: {message}")
    return 1 if failures else 0
