"""`sutra storage reshard` from 4 to 6 shards, on real shard server processes, under load.

A writer and a reader run through their own routers the whole time; the command is
SIGKILLed in the middle of its copy and run again to the end. Afterwards every concept is
stored exactly once, on its owner under the new map; nothing acknowledged is missing; the
records of the concepts loaded before are byte for byte what the four shards held (their
union digest, read from the LMDB files); no read failed or missed while the data moved.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import lmdb
import pytest

from sutra.common.testing import poll
from sutra.storage import layout
from sutra.storage.client import AssociationInput, ConceptInput, Direction, StorageClient
from sutra.storage.errors import StorageError
from sutra.storage.ids import concept_id_for
from sutra.storage.shards.check import half_edges
from sutra.storage.shards.map import ShardMap
from sutra.storage.shards.router import ShardedStorageClient
from sutra.storage.shards.testing import generate, load, run_shards, shard_env, stored_ids
from sutra.storage.testing import ServerProcess, run_server
from sutra.storage.v1 import storage_pb2 as pb
from tests.shards.conftest import ENV

DATA = generate(4_000, 12_000)
CHECK = 0.3  # the routers' map check interval here (5 s by default)
SUTRA = str(Path(sys.executable).parent / "sutra")


@contextlib.contextmanager
def _cluster(root: Path, old: int, new: int) -> Iterator[tuple[list[ServerProcess], list]]:
    """`old` shards of their map, and the added shards of the map of `old + new`."""
    with run_shards(root / "old", old, ENV) as sources, contextlib.ExitStack() as stack:
        added = [
            stack.enter_context(run_server(root / f"new-{i}", env=shard_env(i, old + new, **ENV)))
            for i in range(old, old + new)
        ]
        yield sources, added


class Writer(threading.Thread):
    """New concepts, each linked to a loaded one, in batches until stopped."""

    def __init__(self, router: ShardedStorageClient) -> None:
        super().__init__(daemon=True)
        self.router, self.stop = router, threading.Event()
        self.acked: list[list[str]] = []
        self.failed: list[StorageError] = []

    def run(self) -> None:
        rng = random.Random(5)
        n = 0
        while not self.stop.is_set():
            contents = [f"written {n} {i}" for i in range(10)]
            links = [
                AssociationInput(concept_id_for(c), DATA.ids[rng.randrange(len(DATA.ids))])
                for c in contents
            ]
            try:
                self.router.learn_batch([ConceptInput(c) for c in contents], links)
                self.acked.append(contents)
            except StorageError as exc:
                self.failed.append(exc)
            n += 1


class Reader(threading.Thread):
    """Reads loaded concepts one by one (the point reads a stale router gets refused)."""

    def __init__(self, router: ShardedStorageClient) -> None:
        super().__init__(daemon=True)
        self.router, self.stop = router, threading.Event()
        self.reads = 0
        self.missing: list[str] = []
        self.failed: list[StorageError] = []

    def run(self) -> None:
        rng = random.Random(9)
        while not self.stop.is_set():
            concept_id = DATA.ids[rng.randrange(len(DATA.ids))]
            try:
                if self.router.get_concept(concept_id, embedding=False) is None:
                    self.missing.append(concept_id)
            except StorageError as exc:
                self.failed.append(exc)
            self.reads += 1


def _union_digest(data_dirs: Sequence[Path], ids: set[bytes]) -> tuple[str, int]:
    """sha256 of the records, vectors and halves among `ids` over all the stores (access
    counts aside), read from the LMDB files; and how many concept records it covers."""
    rows: list[bytes] = []
    for data_dir in data_dirs:
        env = lmdb.open(str(data_dir), readonly=True, lock=False, max_dbs=layout.MAX_DBS)
        try:
            dbs = layout.open_databases(env, create=False)
            with env.begin() as txn:
                for key, value in txn.cursor(db=dbs.concepts):
                    if bytes(key) in ids:
                        record = layout.ConceptRecord.decode(value)
                        record.access_count = 0
                        vector = txn.get(key, db=dbs.vectors) or b""
                        rows.append(b"c" + bytes(key) + record.encode() + bytes(vector))
                for key, value in txn.cursor(db=dbs.edges):
                    if bytes(key[:16]) in ids and bytes(key[17:33]) in ids:
                        rows.append(b"e" + bytes(key) + bytes(value))
        finally:
            env.close()
    concepts = sum(row[:1] == b"c" for row in rows)
    return hashlib.sha256(b"".join(sorted(rows))).hexdigest(), concepts


def _reshard(sources: list[str], added: list[str], state: Path, *extra: str) -> list[str]:
    return [
        SUTRA, "storage", "reshard", "--to", str(len(sources) + len(added)),
        "--shards", ",".join(sources), "--add", ",".join(added), "--state", str(state), *extra,
    ]  # fmt: skip


def test_resharding_4_to_6_under_load(tmp_path: Path) -> None:
    with _cluster(tmp_path, 4, 2) as (sources, added):
        old = [s.address for s in sources]
        new = [s.address for s in added]
        options = {"timeout": 10.0, "map_check_seconds": CHECK}
        with (
            ShardedStorageClient(old, **options) as router,  # type: ignore[arg-type]
            ShardedStorageClient(old, **options) as reading,  # type: ignore[arg-type]
            # A router that never checks the map on its own: it learns the switch from the
            # shards' refusals of what they no longer hold.
            ShardedStorageClient(old, timeout=10.0, map_check_seconds=3600) as stale,
        ):
            stale.check_shards()
            load(router, DATA)
            loaded = {bytes.fromhex(i) for i in DATA.ids}
            before = _union_digest([s.data_dir for s in sources], loaded)
            writer, reader = Writer(router), Reader(reading)
            writer.start()
            reader.start()
            poll(lambda: len(writer.acked) >= 5, timeout=60, what="writes before the move")

            state = tmp_path / "reshard.json"
            command = _reshard(old, new, state, "--page", "10", "--grace", str(4 * CHECK))
            killed = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
            poll(lambda: _copying(state), timeout=60, interval=0.01, what="the copy under way")
            killed.send_signal(signal.SIGKILL)
            killed.wait(timeout=30)
            acked_before = len(writer.acked)
            done = subprocess.run(command, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
            assert "moved to 6 shards (epoch 1)" in done.stdout
            assert len(writer.acked) > acked_before  # writes went on during the move
            poll(lambda: len(writer.acked) >= acked_before + 20, timeout=60, what="writes after")
            writer.stop.set()
            reader.stop.set()
            writer.join(timeout=60)
            reader.join(timeout=60)

            assert reader.failed == [] and reader.missing == [] and reader.reads > 100
            assert writer.failed == []  # a write of a moving concept waits out the fence
            assert not state.exists()
            again = subprocess.run(command, capture_output=True, text=True, timeout=120)
            assert again.returncode == 0 and "0 concepts copied" in again.stdout, again.stderr
            assert (router.epoch, len(router.targets)) == (1, 6)
            written = [concept_id_for(c) for batch in writer.acked for c in batch]
            _assert_stored_once(sources + added, DATA.ids + written)
            _assert_linked(router, writer.acked)
            assert half_edges(router) == []
            after = _union_digest([s.data_dir for s in sources + added], loaded)
            assert after == before and after[1] == len(DATA.ids)
            assert router.stats().concepts == len(DATA.ids) + len(_stored(router, writer))
            sample = DATA.ids[:1000]
            assert None not in stale.get_concepts(sample[:500]) + stale.get_concepts(sample[500:])
            assert stale.epoch == 1
            assert stale.neighbors_batch(sample) == router.neighbors_batch(sample)


def _copying(state: Path) -> bool:
    """The state file records a source part-way through its copy."""
    with contextlib.suppress(OSError, ValueError):
        cursors = json.loads(state.read_text())["cursors"]
        return any(value not in ("", "done") for value in cursors.values())
    return False


def _assert_stored_once(servers: list[ServerProcess], ids: list[str]) -> None:
    """Each concept is on exactly one shard, its owner under the new map (read from the LMDB
    files: a shard refuses to read a concept it does not own)."""
    owners = ShardMap(len(servers))
    stored = [stored_ids(server.data_dir) for server in servers]
    held = {i: [n for n, ids_here in enumerate(stored) if i in ids_here] for i in ids}
    wrong = {i: shards for i, shards in held.items() if shards != [owners.owner(i)]}
    assert wrong == {}, f"{len(wrong)} concepts misplaced, e.g. {next(iter(wrong.items()))}"


def _assert_linked(router: ShardedStorageClient, batches: list[list[str]]) -> None:
    """Every acknowledged association is there, read from its source's shard."""
    sources = [concept_id_for(c) for batch in batches for c in batch]
    found = router.neighbors_batch(sources, direction=Direction.OUTGOING)
    assert all(len(found[s]) == 1 for s in sources)


def _stored(router: ShardedStorageClient, writer: Writer) -> list[str]:
    """The written concepts that exist (acknowledged, or stored before a failure)."""
    batches = len(writer.acked) + len(writer.failed) + 1
    ids = [concept_id_for(f"written {n} {i}") for n in range(batches) for i in range(10)]
    found = []
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        found += [i for i, c in zip(chunk, router.get_concepts(chunk), strict=True) if c]
    return found


@pytest.mark.parametrize(
    ("added", "message"),
    [
        (lambda new: [new[1]], "shard 2 (127.0.0.1:{1}) serves rendezvous-blake2b/4, not rendezvous-blake2b/3"),  # noqa: E501
        (lambda new: ["127.0.0.1:9"], "shard 2 (127.0.0.1:9): "),
    ],
)  # fmt: skip
def test_a_wrong_shard_is_one_clear_error(tmp_path: Path, added, message: str) -> None:
    with (
        run_shards(tmp_path / "old", 2, ENV) as sources,
        run_server(tmp_path / "new-2", env=shard_env(2, 3, **ENV)) as fits,
        run_server(tmp_path / "other", env=shard_env(2, 4, **ENV)) as other,
    ):
        new = [fits.address, other.address]
        state = tmp_path / "s.json"
        command = _reshard([s.address for s in sources], added(new), state, "--timeout", "3")
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1, done.stderr
        assert message.format(fits.port, other.port) in done.stderr
        shrink = _reshard([s.address for s in sources], [], state)
        shrink[shrink.index("--to") + 1] = "1"
        done = subprocess.run(shrink, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and "a move only adds shards" in done.stderr


def test_an_unsharded_store_grows_into_shards(tmp_path: Path) -> None:
    """A store that was never sharded is the one source of a move: it becomes shard 0 of 3,
    and keeps that map when restarted with its old settings. A router given all three shards
    before the move (the tier table raised first) routes to the one store until the switch,
    then follows it."""
    data = generate(600, 1_800)
    with (
        run_server(tmp_path / "single", env=ENV) as single,
        run_server(tmp_path / "new-1", env=shard_env(1, 3, **ENV)) as one,
        run_server(tmp_path / "new-2", env=shard_env(2, 3, **ENV)) as two,
    ):
        with StorageClient(single.address, timeout=10.0) as client:
            load(client, data)
        every = [single.address, one.address, two.address]
        with ShardedStorageClient(every, timeout=10.0, map_check_seconds=CHECK) as early:
            assert early.learn_concept("learned before the move").concept_id
            assert len(early.targets) == 1 and None not in early.get_concepts(data.ids[:500])
            # The shard list of a raised tier table: the sources are the shards that serve.
            command = [SUTRA, "storage", "reshard", "--to", "3", "--shards", ",".join(every)]
            state = ["--state", str(tmp_path / "s.json"), "--grace", "0"]
            done = subprocess.run([*command, *state], capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
            again = subprocess.run([*command, *state], capture_output=True, text=True)
            assert again.returncode == 0 and "0 concepts copied" in again.stdout, again.stderr
            assert None not in early.get_concepts(data.ids)
            assert (early.epoch, len(early.targets)) == (1, 3)
            assert early.stats().concepts == len(data.ids) + 1
        _assert_stored_once([single, one, two], data.ids)
    with (
        run_server(tmp_path / "single", env=ENV) as again,
        StorageClient(again.address, timeout=10.0) as client,
    ):
        shard = client._call(client._stub.GetStats, pb.GetStatsRequest(), idempotent=True).shard
        assert (shard.index, shard.count, shard.epoch) == (0, 3, 1)
