"""Moving a running sharded store to a map of more shards, with writes going on.

Rendezvous hashing gives each added shard the concepts it now wins and moves nothing between
the old shards, so every old shard is a source and every added shard a destination:

1. **begin**: each source marks, in the same transaction as the write, every concept the new
   map gives away that a client writes from now on;
2. **copy**: each source's moving concepts, a page at a time, stored exactly on their new
   owner (record, vector and association halves byte for byte; a copy is an upsert, so a
   page copied twice changes nothing);
3. **catch up**: the marked concepts copied again (and their marks dropped unless written
   again meanwhile), until few are left;
4. **fence**: sources refuse writes of moving concepts (ABORTED; routers send them again),
   and the last marks are copied: every new owner now holds exactly what its source holds;
5. **switch**: every shard serves the new map at a new epoch, with every shard's address;
   routers adopt it at their next map check or at the first refusal of a stale call;
6. **cleanup** after `grace` seconds (routers check every 5 s): sources delete what they gave
   away, vectors included.

Reads are answered by the shard holding the data throughout: the old owner until the
switch (it keeps everything), the new owner after it (it holds everything from the final
catch-up on); a stale router asking the old owner after the switch is refused, naming the
new owner, and adopts the new map. Every step is idempotent and the shards keep their
phase, so a move stopped anywhere (the command killed, a shard restarted) is finished by
running the command again; the state file only saves copying pages again.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sutra.storage.client import StorageClient
from sutra.storage.errors import InvalidArgument, StorageError
from sutra.storage.shards.map import ShardMap, map_version
from sutra.storage.v1 import storage_pb2 as pb

__all__ = ["MoveError", "Plan", "Progress", "Reshard"]

PAGE = 1_000  # concepts per copy page
CATCH_UP_ROUNDS = 20  # before fencing, while each round still leaves many marks
FEW_MARKS = 256  # marks left that the fenced catch-up copies (writes wait meanwhile)


class MoveError(Exception):
    """A move that cannot go on as asked (one line, naming the shard)."""


@dataclass(frozen=True)
class Plan:
    sources: tuple[str, ...]  # the shards of the current map, in shard order
    targets: tuple[str, ...]  # every shard of the new map: the sources, then the added ones
    epoch: int  # the epoch the switch gives the new map

    @property
    def count(self) -> int:
        return len(self.targets)


@dataclass
class Progress:
    """What the move has done so far (reported to `on_progress` after each step)."""

    phase: str = "begin"
    copied: int = 0  # concepts stored on their new owner (a concept copied again counts again)
    scanned: int = 0  # concepts the sources looked at
    total: int = 0  # concepts on the sources when the move began
    dropped: int = 0  # moved concepts deleted from their source
    started: float = field(default_factory=time.monotonic)
    copy_started: float = 0.0  # the copy's span: from its first page...
    copy_ended: float = 0.0  # ...to the end of the final catch-up

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Concepts copied per second of copying."""
        if not self.copy_started:
            return 0.0
        seconds = (self.copy_ended or time.monotonic()) - self.copy_started
        return self.copied / seconds if seconds > 0 else 0.0


class Reshard:
    """One move from the map of `sources` to the map of `targets` (see the module text)."""

    def __init__(
        self,
        plan: Plan,
        *,
        state_file: Path | None = None,
        grace: float = 10.0,
        page: int = PAGE,
        timeout: float = 30.0,
        on_progress: Callable[[Progress], None] = lambda _p: None,
    ) -> None:
        self.plan = plan
        self.map = ShardMap(plan.count)
        self.state_file = state_file
        self.grace = grace
        self.page = page
        self.on_progress = on_progress
        self.progress = Progress()
        self.clients = [StorageClient(t, timeout=timeout) for t in plan.targets]
        self.cursors: dict[str, str] = self._load_cursors()
        self._lock = threading.Lock()

    def close(self) -> None:
        for client in self.clients:
            client.close()

    # ----------------------------------------------------------------- run

    def run(self) -> Progress:
        """The whole move, from wherever the shards are; the figures of this run."""
        switched = self._switched()
        if switched == 0:
            self._step("begin", pb.RESHARD_ACTION_BEGIN, self._sources())
            self.progress.copy_started = time.monotonic()
            self._copy_all()
            self._catch_up(fenced=False)
            self._step("fence", pb.RESHARD_ACTION_FENCE, self._sources())
            self._catch_up(fenced=True)
            self.progress.copy_ended = time.monotonic()
        if switched < self.plan.count:
            self._switch()
            self._wait_for_routers()
        self._cleanup()
        self._forget_cursors()
        self.progress.phase = "done"
        self.on_progress(self.progress)
        return self.progress

    def _sources(self) -> range:
        return range(len(self.plan.sources))

    def _call(self, index: int, name: str, request: Any) -> Any:
        client = self.clients[index]
        try:
            return client._call(getattr(client._stub, name), request, idempotent=True)
        except StorageError as exc:
            raise MoveError(f"shard {index} ({self.plan.targets[index]}): {exc.message}") from None

    def _status(self, index: int, stats: pb.GetStatsResponse | None = None) -> pb.ShardStatus:
        stats = stats or self._call(index, "GetStats", pb.GetStatsRequest())
        return _shard_of(stats, index, self.plan.targets[index], len(self.plan.sources))

    def _switched(self) -> int:
        """Check every shard's place; how many already serve the new map (a switch is done
        only after every source is fenced and caught up, so one switched shard means that
        the rest only needs the switch)."""
        stats = [self._call(i, "GetStats", pb.GetStatsRequest()) for i in range(self.plan.count)]
        statuses = [self._status(i, s) for i, s in enumerate(stats)]
        for index, status in enumerate(statuses):
            if status.index != index:
                raise MoveError(
                    f"shard {index} ({self.plan.targets[index]}) is shard {status.index}: "
                    "list the shards in shard order"
                )
        new = [s.epoch >= self.plan.epoch and s.count == self.plan.count for s in statuses]
        if any(new):
            return sum(new)
        for index, status in enumerate(statuses):
            if index < len(self.plan.sources) and not status.phase:
                self.cursors.pop(self.plan.sources[index], None)  # its marks began anew
            expected = len(self.plan.sources) if index < len(self.plan.sources) else self.plan.count
            if status.count != expected:
                raise MoveError(
                    f"shard {index} ({self.plan.targets[index]}) serves "
                    f"{status.map_version}, not {map_version(expected)}"
                )
        self.progress.total = sum(stats[i].concepts for i in self._sources())
        return 0

    def _step(self, phase: str, action: int, shards: Sequence[int]) -> None:
        self.progress.phase = phase
        for index in shards:
            self._call(
                index,
                "Reshard",
                pb.ReshardRequest(
                    action=action,
                    count=self.plan.count,
                    epoch=self.plan.epoch,
                    targets=list(self.plan.targets),
                ),
            )
        self.on_progress(self.progress)

    # ---------------------------------------------------------------- copy

    def _copy_all(self) -> None:
        """Every source's moving concepts onto their new owners, the sources in parallel."""
        self.progress.phase = "copy"
        with ThreadPoolExecutor(len(self.plan.sources), "reshard-copy") as pool:
            list(pool.map(self._copy_source, self._sources()))  # the first failure is raised

    def _copy_source(self, index: int) -> None:
        key = self.plan.sources[index]
        after = bytes.fromhex(self.cursors.get(key, ""))
        if self.cursors.get(key) == "done":
            return
        while True:
            request = pb.ScanMovingRequest(after=after, limit=self.page)
            page = self._call(index, "ScanMoving", request)
            self._import(page.copies)
            with self._lock:
                self.progress.scanned += page.scanned
                self.cursors[key] = page.next.hex() if page.next else "done"
                self._save_cursors()
                self.on_progress(self.progress)
            if not page.next:
                return
            after = page.next

    def _import(self, copies: Sequence[pb.ConceptCopy]) -> None:
        """Each copy stored on its owner under the new map."""
        by_owner: dict[int, list[pb.ConceptCopy]] = defaultdict(list)
        for copy in copies:
            by_owner[self.map.owner_raw(copy.id)].append(copy)
        for owner, part in by_owner.items():
            self._call(owner, "ImportConcepts", pb.ImportConceptsRequest(copies=part))
        with self._lock:
            self.progress.copied += len(copies)

    def _catch_up(self, *, fenced: bool) -> None:
        """Copy the concepts written since the move began, until few (fenced: none) are left."""
        self.progress.phase = "final catch-up" if fenced else "catch-up"
        for _round in range(CATCH_UP_ROUNDS):
            left = sum(self._copy_changed(index) for index in self._sources())
            self.on_progress(self.progress)
            if left == 0 or (not fenced and left <= FEW_MARKS):
                return
        if fenced:  # no write of a moving concept commits once fenced: marks cannot grow
            raise MoveError(f"the fenced sources still report {left} changed concepts")

    def _copy_changed(self, index: int) -> int:
        """One pass over a source's change marks; the marks it has left."""
        remaining = 0
        after = b""
        while True:
            request = pb.ScanMovingRequest(after=after, limit=self.page, changed=True)
            page = self._call(index, "ScanMoving", request)
            if not page.marks:
                return remaining
            self._import(page.copies)
            acked = self._call(index, "AckMoving", pb.AckMovingRequest(marks=page.marks))
            remaining = acked.remaining
            if not page.next:
                return remaining
            after = page.next

    # ------------------------------------------------------ switch, cleanup

    def _switch(self) -> None:
        """The added shards first (they hold their concepts already), then the sources."""
        added = range(len(self.plan.sources), self.plan.count)
        self._step("switch", pb.RESHARD_ACTION_SWITCH, [*added, *self._sources()])

    def _wait_for_routers(self) -> None:
        """Routers check the shards' map every few seconds: give them time before the old
        owners delete what they gave away (a stale router's read is refused, not lost)."""
        self.progress.phase = f"waiting {self.grace:g} s for routers to adopt the new map"
        self.on_progress(self.progress)
        deadline = time.monotonic() + self.grace
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.5))

    def _cleanup(self) -> None:
        self.progress.phase = "cleanup"
        for index in self._sources():
            if self._status(index).phase != "cleanup":
                continue  # finished by an earlier run
            after = b""
            while True:
                page = self._call(
                    index, "DropMoved", pb.DropMovedRequest(after=after, limit=self.page)
                )
                self.progress.dropped += page.dropped
                self.on_progress(self.progress)
                if not page.next:
                    break
                after = page.next
            self._call(
                index,
                "Reshard",
                pb.ReshardRequest(action=pb.RESHARD_ACTION_FINISH, count=self.plan.count),
            )

    # ---------------------------------------------------------- state file

    def _load_cursors(self) -> dict[str, str]:
        if self.state_file is None or not self.state_file.exists():
            return {}
        try:
            recorded = json.loads(self.state_file.read_text())
        except (OSError, ValueError) as exc:
            raise MoveError(f"{self.state_file}: not a resharding state file ({exc})") from None
        if recorded.get("plan") != _plan_record(self.plan):
            raise MoveError(
                f"{self.state_file} records another move ({recorded.get('plan')}); finish that "
                "one or delete the file"
            )
        return dict(recorded.get("cursors", {}))

    def _save_cursors(self) -> None:
        if self.state_file is None:
            return
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps({"plan": _plan_record(self.plan), "cursors": self.cursors}))
        os.replace(tmp, self.state_file)

    def _forget_cursors(self) -> None:
        if self.state_file is not None:
            self.state_file.unlink(missing_ok=True)


def _plan_record(plan: Plan) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(plan).items()}


def _remote_shard(index: int, target: str, sources: int, timeout: float) -> pb.ShardStatus:
    """The place in the map of the server at `target` (shard `index` of the plan)."""
    with StorageClient(target, timeout=timeout) as client:
        try:
            stats = client._call(client._stub.GetStats, pb.GetStatsRequest(), idempotent=True)
        except StorageError as exc:
            raise MoveError(f"shard {index} ({target}): {exc.message}") from None
    return _shard_of(stats, index, target, sources)


def served_count(target: str, listed: int, timeout: float) -> int:
    """How many of `listed` shards the map of the first one has: before a move, the shards
    that hold data; after a switch to `listed` shards, the count it switched from (so a run
    after the switch finds the same sources)."""
    shard = _remote_shard(0, target, 1, timeout)
    if shard.epoch and shard.count == listed and shard.moved_from:
        return shard.moved_from
    return shard.count


def plan_for(sources: Sequence[str], added: Sequence[str], count: int, timeout: float) -> Plan:
    """The plan of growing the map of `sources` to `count` shards (the added ones last).

    The new epoch follows the one the sources serve; a source that already switched (a move
    resumed after its switch) reports the new one."""
    if count <= len(sources):
        raise InvalidArgument(
            f"--to {count}: the map has {len(sources)} shards; a move only adds shards"
        )
    if len(sources) + len(added) != count:
        raise InvalidArgument(
            f"--to {count} needs {count - len(sources)} added shards (--add), got {len(added)}"
        )
    epochs = []
    for index, target in enumerate(sources):
        shard = _remote_shard(index, target, len(sources), timeout)
        switched = shard.count == count and shard.epoch > 0
        epochs.append(shard.epoch - 1 if switched else shard.epoch)
    if len(set(epochs)) != 1:
        raise MoveError(f"the shards serve different epochs ({epochs}): a move is half done")
    return Plan(tuple(sources), (*sources, *added), epochs[0] + 1)


def _shard_of(stats: pb.GetStatsResponse, index: int, target: str, sources: int) -> pb.ShardStatus:
    """The server's place in the map; an unsharded server is shard 0 of 1, and may be the
    only source of a move (growing an unsharded store)."""
    if stats.HasField("shard"):
        return stats.shard
    if sources == 1 and index == 0:
        return pb.ShardStatus(index=0, count=1, map_version=map_version(1))
    raise MoveError(
        f"shard {index} ({target}) is not a shard server (SUTRA_STORAGE_SHARD_COUNT is unset "
        "there); only an unsharded store that is the sole source can be grown"
    )
