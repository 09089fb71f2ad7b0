"""Snapshots taken during writes restore to exactly their own consistent state; the CLI."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path

import pytest

from sutra.cli import main as sutra
from sutra.common.exposition import sample_value
from sutra.storage import snapshots
from sutra.storage.client import NotFound, StorageClient
from sutra.storage.ids import concept_id_for
from sutra.storage.testing import ServerProcess, free_port, run_server

from .test_concurrency import LEAVES, batch_of


def _write_batches(address: str, names: list[str], stop: threading.Event) -> None:
    with StorageClient(address, timeout=30) as client:
        b = 0
        while not stop.is_set():
            name = f"snap-batch-{b}"
            names.append(name)
            client.learn_batch(*batch_of(name))
            b += 1


def test_snapshot_during_writes_restores_a_consistent_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names: list[str] = []
    stop = threading.Event()
    with run_server(tmp_path / "data") as server:
        writer = threading.Thread(target=_write_batches, args=(server.address, names, stop))
        writer.start()
        while len(names) < 30 and writer.is_alive():
            threading.Event().wait(0.01)
        code = sutra(
            ["storage", "snapshot", "--server", server.address, "--to", str(tmp_path / "snaps")]
        )
        more = len(names)
        while len(names) < more + 20 and writer.is_alive():  # writes after the snapshot
            threading.Event().wait(0.01)
        stop.set()
        writer.join(timeout=60)
        with StorageClient(server.address) as client:
            live = client.stats()
    assert code == 0
    out = capsys.readouterr().out.strip()
    (snapshot,) = snapshots.list_snapshots(tmp_path / "snaps")
    assert out.startswith(f"{snapshot} ")
    manifest = json.loads((snapshot / snapshots.MANIFEST).read_text())
    assert 0 < manifest["concepts"] < live.concepts

    assert (
        sutra(["storage", "restore", "--from", str(snapshot), "--to", str(tmp_path / "restored")])
        == 0
    )
    with run_server(tmp_path / "restored") as server, StorageClient(server.address) as client:
        stats = client.stats()
        assert (stats.concepts, stats.associations, stats.vectors, stats.sequence) == (
            manifest["concepts"],
            manifest["associations"],
            manifest["vectors"],
            manifest["sequence"],
        )
        complete = 0
        for name in names:
            try:
                neighbors = client.get_neighbors(concept_id_for(name))
            except NotFound:
                for i in range(LEAVES):
                    assert client.get_concept(concept_id_for(f"{name}/leaf{i}")) is None
                continue
            assert len(neighbors) == LEAVES, f"{name} is half there"
            complete += 1
        # Every concept the snapshot counts is there, in whole batches, and nothing else.
        assert complete * (LEAVES + 1) == stats.concepts
        assert complete * LEAVES == stats.associations


def test_cli_snapshot_retention_restore_and_stats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snaps = tmp_path / "snaps"
    with run_server(tmp_path / "data") as server, StorageClient(server.address) as client:
        client.learn_concept("cli concept")
        for _ in range(3):
            assert (
                sutra(
                    [
                        "storage",
                        "snapshot",
                        "--server",
                        server.address,
                        "--to",
                        str(snaps),
                        "--keep",
                        "2",
                    ]
                )
                == 0
            )
        capsys.readouterr()
        kept = snapshots.list_snapshots(snaps)
        assert len(kept) == 2

        assert sutra(["storage", "stats", "--server", server.address, "--json"]) == 0
        stats = json.loads(capsys.readouterr().out)
        assert stats["concepts"] == 1
        assert stats["last_snapshot_time"] > 0
        assert sutra(["storage", "stats", "--server", server.address]) == 0
        assert "concepts" in capsys.readouterr().out

    newest = kept[-1]
    target = tmp_path / "restored"
    assert sutra(["storage", "restore", "--from", str(newest), "--to", str(target)]) == 0
    assert "1 concepts" in capsys.readouterr().out
    # A non-empty data directory is not overwritten without --force.
    assert sutra(["storage", "restore", "--from", str(newest), "--to", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--force" in err[0]
    assert sutra(["storage", "restore", "--from", str(newest), "--to", str(target), "--force"]) == 0
    capsys.readouterr()
    with run_server(target) as server, StorageClient(server.address) as client:
        assert client.get_concept(concept_id_for("cli concept")) is not None
        # Not even --force replaces the store under a running server.
        assert (
            sutra(["storage", "restore", "--from", str(newest), "--to", str(target), "--force"])
            == 2
        )
        assert "running" in capsys.readouterr().err
        assert client.get_concept(concept_id_for("cli concept")) is not None

    # A damaged snapshot is a finding (exit 1), and nothing is installed.
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for name in (snapshots.DATA_FILE, snapshots.MANIFEST):
        (damaged / name).write_bytes((newest / name).read_bytes())
    raw = bytearray((damaged / snapshots.DATA_FILE).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (damaged / snapshots.DATA_FILE).write_bytes(bytes(raw))
    assert sutra(["storage", "restore", "--from", str(damaged), "--to", str(tmp_path / "r2")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checksum" in err[0]
    assert not (tmp_path / "r2" / snapshots.DATA_FILE).exists()

    # No server: one line, exit 2.
    dead = f"127.0.0.1:{free_port()}"
    assert sutra(["storage", "stats", "--server", dead, "--timeout", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and dead in err[0]
    assert sutra(["storage", "snapshot", "--server", dead, "--to", str(snaps)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert len(snapshots.list_snapshots(snaps)) == 2
    assert sutra(["storage", "restore", "--from", str(tmp_path), "--to", str(tmp_path / "r3")]) == 2


def test_an_abandoned_snapshot_stream_leaves_the_server_healthy(tmp_path: Path) -> None:
    import grpc

    from sutra.storage.client import ConceptInput
    from sutra.storage.v1 import storage_pb2 as pb
    from sutra.storage.v1 import storage_pb2_grpc as pb_grpc

    with run_server(tmp_path / "data") as server, StorageClient(server.address) as client:
        # ~5 MB of store: more than gRPC's flow-control windows take in before the client's
        # cancel, so no stream can be sent to its end unread (with 300 concepts one could be).
        for start in range(0, 3000, 1000):
            client.learn_batch(
                [
                    ConceptInput(f"abandon {i}", embedding=[1.0] * 384)
                    for i in range(start, start + 1000)
                ]
            )
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.StorageServiceStub(channel)
            for _ in range(3):
                stream = stub.StreamSnapshot(pb.StreamSnapshotRequest(chunk_bytes=4096), timeout=30)
                assert next(stream).WhichOneof("part") == "header"
                assert next(stream).WhichOneof("part") == "data"
                stream.cancel()
        assert client.stats().last_snapshot_time == 0  # none of them completed
        client.learn_concept("after the abandoned streams")
        info = client.download_snapshot(tmp_path / "snaps")
        assert info.concepts == 3001
        assert server.terminate() == 0  # no copier left holding the store open


def _snapshot_gauge(server: ServerProcess) -> float:
    url = f"http://127.0.0.1:{server.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        page = response.read().decode()
    return sample_value(page, "sutra_storage_last_snapshot_timestamp_seconds")


def test_the_last_snapshot_time_is_kept_in_the_store(tmp_path: Path) -> None:
    """GetStats and the gauge the snapshot-too-old alert reads still give the last snapshot's
    time after a SIGKILL and restart; a store restored from a snapshot gives the time that
    snapshot's copy held (the snapshot before it), never a later one."""
    data = tmp_path / "data"
    with run_server(data) as server, StorageClient(server.address) as client:
        assert client.stats().last_snapshot_time == _snapshot_gauge(server) == 0
        client.learn_concept("a concept to back up")
        streamed = client.download_snapshot(tmp_path / "snaps")  # as the CronJob takes them
        first = client.stats().last_snapshot_time
        assert first >= streamed.created_at
        written = client.snapshot(str(tmp_path / "written"))  # written by the server itself
        last = client.stats().last_snapshot_time
        assert last > first and last >= written.created_at
        assert _snapshot_gauge(server) == last
        assert server.kill() == -9

    with run_server(data) as server, StorageClient(server.address) as client:
        assert client.stats().last_snapshot_time == _snapshot_gauge(server) == last

    snapshots.restore(Path(written.path), tmp_path / "restored")
    with run_server(tmp_path / "restored") as server, StorageClient(server.address) as client:
        assert client.stats().last_snapshot_time == _snapshot_gauge(server) == first
