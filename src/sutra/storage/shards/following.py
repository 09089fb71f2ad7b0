"""How a router follows its shards' map when `sutra storage reshard` switches it.

The shards report their map (count, epoch and, after a switch, every shard's address) in
GetStats. A router asks for it every `map_check_seconds` before a call, and at once when a
shard refuses a call as not its own (FAILED_PRECONDITION after a switch) or because its
concept is moving right now (ABORTED, during a move's fence); it then adopts the newest map,
keeping its connections to the shards that stay, and sends the call again.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sutra.storage.client import StorageClient
from sutra.storage.errors import Aborted, FailedPrecondition, StorageError, Unavailable
from sutra.storage.shards.map import ShardMap
from sutra.storage.v1 import storage_pb2 as pb

__all__ = ["MAP_CHECK_SECONDS", "FollowsShardMap", "Layout", "MapState", "rerouted"]

T = TypeVar("T")
Answer = pb.GetStatsResponse | StorageError  # a shard's GetStats, or why it gave none


@dataclass
class Layout:
    """The map a router routes by: replaced whole when the shards switch to a new map."""

    targets: list[str]
    map: ShardMap
    clients: list[StorageClient]
    epoch: int = 0


class MapState:
    """Shared by a router and its bounded views, so that a switch reaches every caller."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.lock = threading.Lock()
        self.checked = float("-inf")  # when the shards were last asked for their map


MAP_CHECK_SECONDS = 5.0  # how often the shards are asked whether their map switched
REROUTE_PAUSE = 0.05  # between two sends of a write refused because its concept is moving


def rerouted(op: Callable[..., T]) -> Callable[..., T]:
    """Send the call again when a shard refused it because the map switched or its concept is
    moving right now (see `ShardedStorageClient._reroute`); only for calls that may be sent
    twice (reads, and writes that are upserts of one shard or of association halves)."""

    @functools.wraps(op)
    def call(self: Any, *args: Any, **kwargs: Any) -> T:
        deadline = time.monotonic() + self.reroute_seconds
        while True:
            try:
                return op(self, *args, **kwargs)
            except (FailedPrecondition, Aborted) as exc:
                if not self._reroute(exc, deadline):
                    raise

    return call


class FollowsShardMap:
    """The map-following half of `ShardedStorageClient` (see the module text)."""

    _state: MapState
    _verified: bool
    map_check_seconds: float
    reroute_seconds: float
    tokens: list[int]

    @property
    def targets(self) -> list[str]:
        return self._state.layout.targets

    @property
    def map(self) -> ShardMap:
        return self._state.layout.map

    @property
    def epoch(self) -> int:
        return self._state.layout.epoch

    def _client_for(self, index: int, target: str) -> StorageClient:
        raise NotImplementedError

    def _check_map(self) -> None:
        """Before a call: verify the shards once, then ask them for their map every
        `map_check_seconds` (in the calling thread: a call never routes by a map older than
        that; one GetStats per shard)."""
        if not self._verified:
            self.check_shards()
        elif time.monotonic() - self._state.checked > self.map_check_seconds:
            self.refresh_map()

    def refresh_map(self) -> bool:
        """Adopt the newest map the shards report (switched by `sutra storage reshard`);
        True when the router's map changed."""
        state = self._state
        with state.lock:
            if time.monotonic() - state.checked < 0.01:
                return False  # another caller just asked
            state.checked = time.monotonic()
            return self._adopt_newest([self._stats(c, 0.5) for c in state.layout.clients])

    def _adopt_newest(self, stats: list[Answer]) -> bool:
        """Take the newest switched map among the shards' answers (the map lock held)."""
        layout = self._state.layout
        newest = None
        for answer in stats:
            if isinstance(answer, StorageError):
                continue
            shard = answer.shard
            if shard.epoch > (newest.epoch if newest else layout.epoch) and (
                len(shard.targets) == shard.count
            ):
                newest = shard
        if newest is None:
            return False
        self._state.layout = self._layout_for(layout, newest)
        self.tokens.extend([0] * (len(self._state.layout.targets) - len(self.tokens)))
        return True

    def _layout_for(self, old: Layout, shard: pb.ShardStatus) -> Layout:
        """The layout of a switched map, keeping the connections to shards it still lists."""
        known = dict(zip(old.targets, old.clients, strict=True))
        targets = list(shard.targets)
        clients = [known.get(t) or self._client_for(i, t) for i, t in enumerate(targets)]
        return Layout(targets, ShardMap(shard.count), clients, shard.epoch)

    def _reroute(self, exc: StorageError, deadline: float) -> bool:
        """Whether a call a shard refused should be sent again: the map switched (and is now
        adopted), or its concept is moving right now (ABORTED: after a pause)."""
        if time.monotonic() >= deadline:
            return False
        if self.refresh_map():
            return True
        if isinstance(exc, Aborted):
            time.sleep(REROUTE_PAUSE)
            return True
        return False

    def check_shards(self) -> None:
        """Every shard reachable and serving its place in this map; else one error naming it.

        One GetStats per shard serves every check (again only for a map adopted here)."""
        self._verified = True
        try:
            state = self._state
            with state.lock:
                state.checked = time.monotonic()
                stats = [self._stats(c) for c in state.layout.clients]
                if self._adopt_newest(stats):  # a router started with an older map's shards
                    stats = [self._stats(c) for c in state.layout.clients]
                self._wait_for_added_shards(stats)  # ...or with the map they will serve
            for index, target in enumerate(self.targets):
                self._check_shard(index, target, stats[index])
        except BaseException:
            self._verified = False
            raise

    def _wait_for_added_shards(self, stats: list[Answer]) -> None:
        """Route by the first shards' smaller map while the others are added and still empty.

        Raising `storage.shards` in the tier table gives the services the new shard list
        before `sutra storage reshard` moves anything: until its switch they go on with the
        map the first shards serve (an unsharded store: its one shard). Only when every other
        shard is new (no switch, no move, no concept) and of the listed count, so that a
        missing or mistaken shard still fails the check."""
        layout = self._state.layout
        first = stats[0]
        if layout.epoch or isinstance(first, StorageError):
            return
        served = first.shard if first.HasField("shard") else pb.ShardStatus(count=1)
        if served.epoch or served.phase or served.index or served.count >= len(layout.targets):
            return
        for index in range(served.count, len(layout.targets)):
            extra = stats[index]
            if isinstance(extra, StorageError) or extra.concepts or not extra.HasField("shard"):
                return
            if (extra.shard.index, extra.shard.count) != (index, len(layout.targets)):
                return
            if extra.shard.epoch or extra.shard.phase:
                return
        self._state.layout = Layout(
            layout.targets[: served.count],
            ShardMap(served.count),
            layout.clients[: served.count],
        )

    @staticmethod
    def _stats(client: StorageClient, timeout: float | None = None) -> Answer:
        """A shard's GetStats, or why it did not answer (with `timeout`: one try, no retry)."""
        try:
            return client._call(
                client._stub.GetStats,
                pb.GetStatsRequest(),
                timeout=timeout,
                idempotent=timeout is None,
            )
        except StorageError as exc:
            return exc

    def _check_shard(self, index: int, target: str, stats: Answer) -> None:
        if isinstance(stats, StorageError):
            raise Unavailable(f"shard {index} ({target}) is unreachable: {stats.message}")
        if not stats.HasField("shard"):
            if self.map.count == 1:
                return  # an unsharded store, the only shard until a move grows it
            raise FailedPrecondition(
                f"shard {index} ({target}) is not a shard server (SUTRA_STORAGE_SHARD_COUNT is "
                f"unset there) but SUTRA_STORAGE_SHARDS lists {len(self.targets)} shards"
            )
        if stats.shard.map_version != self.map.version:
            raise FailedPrecondition(
                f"shard {index} ({target}) serves map {stats.shard.map_version}, the router "
                f"has {self.map.version} ({len(self.targets)} shards in SUTRA_STORAGE_SHARDS)"
            )
        if stats.shard.index != index:
            raise FailedPrecondition(
                f"shard {index} ({target}) is shard {stats.shard.index} of the map: "
                "SUTRA_STORAGE_SHARDS must list the shards in shard order"
            )
