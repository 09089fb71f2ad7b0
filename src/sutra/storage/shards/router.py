"""`ShardedStorageClient`: the `StorageClient` interface over N shard servers.

Writes are split by owner (sutra.storage.shards.map) and sent to the shards in parallel; an
association goes to both endpoints' shards (each half an idempotent upsert), after the
router checked that its endpoints outside the request exist, so that no half can be
refused after the other was stored. A write is acknowledged only once every half is; a
failure between the halves leaves a half-edge that the caller's retry completes and that
`sutra storage check` reports. Reads go to the owning shard; vector search is answered by
every shard (its own top k) and merged; path search runs frontier by frontier
(sutra.storage.shards.paths). Write tokens are a vector: one sequence per shard.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sutra.storage.client import (
    MAX_GET_CONCEPTS,
    AssociationInput,
    BatchResult,
    Concept,
    ConceptInput,
    Direction,
    Learned,
    Neighbor,
    Path,
    RetryPolicy,
    SearchHit,
    Stats,
    StorageClient,
    Vector,
    neighbor_from_pb,
)
from sutra.storage.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    StorageError,
    Unavailable,
)
from sutra.storage.ids import concept_id_for
from sutra.storage.limits import MAX_BATCH_IDS
from sutra.storage.model import AssociationType
from sutra.storage.shards.map import ShardMap
from sutra.storage.v1 import storage_pb2 as pb

__all__ = ["SHARDS_ENV", "ShardedStorageClient", "shards_from_env", "storage_client"]

T = TypeVar("T")
SHARDS_ENV = "SUTRA_STORAGE_SHARDS"


SHARD_READERS_ENV = "SUTRA_STORAGE_SHARD_READERS"


def shards_from_env() -> list[str]:
    """SUTRA_STORAGE_SHARDS=host:port,host:port,... in shard order; [] when unset."""
    return [t.strip() for t in os.environ.get(SHARDS_ENV, "").split(",") if t.strip()]


def shard_readers_from_env(shards: int) -> list[list[str]] | None:
    """SUTRA_STORAGE_SHARD_READERS: each shard's read followers, shards apart by `;` and a
    shard's followers by `,` (`a:1,b:1;c:1,d:1`), in shard order; None when unset."""
    text = os.environ.get(SHARD_READERS_ENV, "").strip()
    if not text:
        return None
    groups = [[t.strip() for t in part.split(",") if t.strip()] for part in text.split(";")]
    if len(groups) != shards:
        raise InvalidArgument(
            f"{SHARD_READERS_ENV} gives followers for {len(groups)} shards, "
            f"{SHARDS_ENV} lists {shards}"
        )
    return groups


def storage_client(target: str, **options: Any) -> StorageClient | ShardedStorageClient:
    """The storage client a service should use: sharded when SUTRA_STORAGE_SHARDS names two
    or more shards (each shard's reads to its followers when SUTRA_STORAGE_SHARD_READERS
    names them), else a `StorageClient` of `target`."""
    shards = shards_from_env()
    if len(shards) > 1:
        options.pop("readers", None)
        return ShardedStorageClient(shards, readers=shard_readers_from_env(len(shards)), **options)
    return StorageClient(target, **options)


def _named(index: int, target: str, exc: StorageError) -> StorageError:
    """The same error class, its message naming the shard it came from."""
    message = f"shard {index} ({target}): {exc.message}"
    named = type(exc).__new__(type(exc))  # keeps attributes such as `called` of a deadline
    named.__dict__.update(exc.__dict__)
    Exception.__init__(named, message)
    named.message = message
    return named


@dataclass
class ShardedStorageClient:
    """Client of the shards `targets` (host:port, in shard order)."""

    targets: Sequence[str]
    timeout: float = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    options: Sequence[tuple[str, Any]] = ()
    verify: bool = True  # check each shard's map and index before the first call
    # Each shard's read followers, in shard order (None: every read goes to the writers).
    readers: Sequence[Sequence[str]] | None = None

    def __post_init__(self) -> None:
        self.map = ShardMap(len(self.targets))
        if self.readers is not None and len(self.readers) != len(self.targets):
            raise InvalidArgument(
                f"followers are given for {len(self.readers)} shards, the router has "
                f"{len(self.targets)}"
            )
        self.clients = [
            StorageClient(
                t,
                timeout=self.timeout,
                retry=self.retry,
                options=self.options,
                readers=list(self.readers[i]) if self.readers is not None else [],
            )
            for i, t in enumerate(self.targets)
        ]
        # Shared by every caller's fan-out; a fan-out never waits on the pool from inside it.
        self._pool = ThreadPoolExecutor(8 * len(self.targets), "storage-shards")
        self._verified = not self.verify
        self.tokens = [0] * len(self.targets)  # the newest write sequence of each shard

    # ------------------------------------------------------------- plumbing

    @property
    def last_token(self) -> tuple[int, ...]:
        return tuple(self.tokens)

    def bounded(self, deadline: float | None) -> ShardedStorageClient:
        if deadline is None:
            return self
        view = copy.copy(self)
        view.clients = [c.bounded(deadline) for c in self.clients]
        return view

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self._pool.shutdown(wait=False)

    def __enter__(self) -> ShardedStorageClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def on_shard(self, index: int, call: Callable[[StorageClient], T]) -> T:
        """`call` on shard `index`'s client; an error about the shard names it."""
        self._check_map()
        try:
            return call(self.clients[index])
        except (InvalidArgument, NotFound):
            raise  # about the request, in the server's words, as from one node
        except StorageError as exc:  # about the shard: which one
            raise _named(index, self.targets[index], exc) from None

    def on_shards(self, calls: Mapping[int, Callable[[StorageClient], T]]) -> dict[int, T]:
        """Each shard's call, in parallel; the first failure (by shard) is raised after all end."""
        self._check_map()
        futures = {i: self._pool.submit(self.on_shard, i, call) for i, call in calls.items()}
        results: dict[int, T] = {}
        failure: BaseException | None = None
        for index in sorted(futures):
            try:
                results[index] = futures[index].result()
            except BaseException as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return results

    def rpc(self, index: int, name: str, request: Any) -> Any:
        """A raw read RPC of shard `index` (the shard-only ones: GetNeighborsBatch, ScanEdges)."""

        return self.on_shard(index, lambda client: _raw(client, name, request))

    def _check_map(self) -> None:
        if not self._verified:
            self.check_shards()

    def check_shards(self) -> None:
        """Every shard reachable and serving its place in this map; else one error naming it."""
        self._verified = True
        try:
            for index, target in enumerate(self.targets):
                self._check_shard(index, target)
        except BaseException:
            self._verified = False
            raise

    def _check_shard(self, index: int, target: str) -> None:
        client = self.clients[index]
        try:
            stats = client._call(client._stub.GetStats, pb.GetStatsRequest(), idempotent=True)
        except StorageError as exc:
            raise Unavailable(f"shard {index} ({target}) is unreachable: {exc.message}") from None
        if not stats.HasField("shard"):
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

    def _owner(self, concept_id: str) -> int:
        """The shard of a concept; InvalidArgument (as from a server) for a malformed id."""
        try:
            return self.map.owner(concept_id)
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None

    def _wrote(self, index: int, client: StorageClient) -> None:
        self.tokens[index] = max(self.tokens[index], client.last_token)

    # ---------------------------------------------------------------- writes

    def learn_concept(
        self,
        content: str,
        *,
        concept_id: str | None = None,
        embedding: Vector | None = None,
        strength: float | None = None,
        confidence: float | None = None,
    ) -> Learned:
        """Store or strengthen a concept on its shard; its id is derived here when absent."""
        concept_id = concept_id or concept_id_for(content)
        index = self._owner(concept_id)

        def call(client: StorageClient) -> Learned:
            learned = client.learn_concept(
                content,
                concept_id=concept_id,
                embedding=embedding,
                strength=strength,
                confidence=confidence,
            )
            self._wrote(index, client)
            return learned

        return self.on_shard(index, call)

    def learn_batch(
        self,
        concepts: Iterable[ConceptInput | Mapping[str, Any]] = (),
        associations: Iterable[AssociationInput | Mapping[str, Any]] = (),
    ) -> BatchResult:
        """Each shard's part in parallel; every part stored before this returns."""
        items = [_with_id(c) for c in concepts]
        links = [
            a if isinstance(a, AssociationInput) else AssociationInput(**a) for a in associations
        ]
        if not items and not links:
            raise InvalidArgument("a batch needs at least one concept or association")
        self._require_existing(links, {c.concept_id for c in items})  # type: ignore[misc]
        parts: dict[int, tuple[list[ConceptInput], list[AssociationInput]]] = defaultdict(
            lambda: ([], [])
        )
        for concept in items:
            parts[self._owner(concept.concept_id)][0].append(concept)  # type: ignore[arg-type]
        for link in links:
            for index in {self._owner(link.source_id), self._owner(link.target_id)}:
                parts[index][1].append(link)

        def part(index: int) -> Callable[[StorageClient], BatchResult]:
            def call(client: StorageClient) -> BatchResult:
                result = client.learn_batch(*parts[index])
                self._wrote(index, client)
                return result

            return call

        results = self.on_shards({index: part(index) for index in parts})
        sequence = max((r.sequence for r in results.values()), default=0)
        return BatchResult([c.concept_id for c in items], len(links), sequence)  # type: ignore[misc]

    def learn_association(
        self,
        source_id: str,
        target_id: str,
        type: AssociationType | int = AssociationType.SEMANTIC,
        *,
        confidence: float | None = None,
        weight: float | None = None,
        label: str = "",
    ) -> int:
        """Both halves stored (the endpoints' shards) before this returns."""
        link = AssociationInput(
            source_id, target_id, AssociationType(type), confidence, weight, label
        )
        self._require_existing([link], set())

        def half(index: int) -> Callable[[StorageClient], int]:
            def call(client: StorageClient) -> int:
                sequence = client.learn_association(
                    source_id, target_id, type, confidence=confidence, weight=weight, label=label
                )
                self._wrote(index, client)
                return sequence

            return call

        owners = {self._owner(source_id), self._owner(target_id)}
        return max(self.on_shards({index: half(index) for index in owners}).values())

    def _require_existing(self, links: Sequence[AssociationInput], in_request: set[str]) -> None:
        """NotFound, before anything is written, for an endpoint that exists on no shard."""
        wanted: dict[int, dict[str, str]] = defaultdict(dict)
        for link in links:
            for end, what in ((link.source_id, "source"), (link.target_id, "target")):
                if end not in in_request:
                    wanted[self._owner(end)].setdefault(end, what)

        def absent(ends: dict[str, str]) -> Callable[[StorageClient], list[str]]:
            def call(client: StorageClient) -> list[str]:
                ids, missing = list(ends), []
                for start in range(0, len(ids), MAX_BATCH_IDS):
                    chunk = ids[start : start + MAX_BATCH_IDS]
                    request = pb.GetNeighborsBatchRequest(concept_ids=chunk, limit=1)
                    results = _raw(client, "GetNeighborsBatch", request).results
                    missing += [i for i, r in zip(chunk, results, strict=True) if not r.found]
                return missing

            return call

        found = self.on_shards({index: absent(ends) for index, ends in wanted.items()})
        for index, missing in sorted(found.items()):
            if missing:
                concept_id = missing[0]
                raise NotFound(f"{wanted[index][concept_id]} concept {concept_id} does not exist")

    def flush(self) -> int:
        calls = {i: (lambda c: c.flush()) for i in range(len(self.clients))}
        return max(self.on_shards(calls).values())

    # ----------------------------------------------------------------- reads

    def get_concept(self, concept_id: str, *, embedding: bool = True) -> Concept | None:
        return self.on_shard(
            self._owner(concept_id), lambda c: c.get_concept(concept_id, embedding=embedding)
        )

    def get_concepts(
        self, concept_ids: Sequence[str], *, embedding: bool = False
    ) -> list[Concept | None]:
        """The concepts in order; each shard asked once (at most MAX_GET_CONCEPTS ids)."""
        if len(concept_ids) > MAX_GET_CONCEPTS:
            raise InvalidArgument(
                f"concept_ids holds {len(concept_ids)} ids, more than the limit of "
                f"{MAX_GET_CONCEPTS} per request"
            )
        by_shard: dict[int, list[int]] = defaultdict(list)
        for position, concept_id in enumerate(concept_ids):
            by_shard[self._owner(concept_id)].append(position)

        def part(positions: list[int]) -> Callable[[StorageClient], list[Concept | None]]:
            ids = [concept_ids[p] for p in positions]
            return lambda c: c.get_concepts(ids, embedding=embedding)

        found = self.on_shards({i: part(p) for i, p in by_shard.items()})
        result: list[Concept | None] = [None] * len(concept_ids)
        for index, positions in by_shard.items():
            for position, concept in zip(positions, found[index], strict=True):
                result[position] = concept
        return result

    def get_neighbors(
        self,
        concept_id: str,
        *,
        direction: Direction | int = Direction.BOTH,
        types: Iterable[AssociationType | int] = (),
        limit: int = 0,
    ) -> list[Neighbor]:
        types = list(types)
        return self.on_shard(
            self._owner(concept_id),
            lambda c: c.get_neighbors(concept_id, direction=direction, types=types, limit=limit),
        )

    def neighbors_batch(
        self, concept_ids: Sequence[str], *, direction: Direction | int = Direction.BOTH
    ) -> dict[str, list[Neighbor]]:
        """The neighbours of many concepts: one GetNeighborsBatch per shard (and per 10,000)."""
        by_shard: dict[int, list[str]] = defaultdict(list)
        for concept_id in concept_ids:
            by_shard[self._owner(concept_id)].append(concept_id)

        def part(
            index: int, ids: list[str]
        ) -> Callable[[StorageClient], dict[str, list[Neighbor]]]:
            def call(_client: StorageClient) -> dict[str, list[Neighbor]]:
                found: dict[str, list[Neighbor]] = {}
                for start in range(0, len(ids), MAX_BATCH_IDS):
                    chunk = ids[start : start + MAX_BATCH_IDS]
                    request = pb.GetNeighborsBatchRequest(
                        concept_ids=chunk, direction=int(direction)
                    )
                    response = _raw(_client, "GetNeighborsBatch", request)
                    for concept_id, result in zip(chunk, response.results, strict=True):
                        found[concept_id] = [neighbor_from_pb(n) for n in result.neighbors]
                return found

            return call

        merged: dict[str, list[Neighbor]] = {}
        for found in self.on_shards({i: part(i, ids) for i, ids in by_shard.items()}).values():
            merged.update(found)
        return merged

    def find_path(
        self, start_id: str, end_id: str, *, max_depth: int = 0, directed: bool = False
    ) -> Path | None:
        """The shortest path (at most `max_depth` edges), searched across the shards."""
        from sutra.storage.shards.paths import find_path

        return find_path(self, start_id, end_id, max_depth=max_depth, directed=directed)

    def vector_search(
        self, query: Vector, k: int = 10, *, ef_search: int | None = None
    ) -> list[SearchHit]:
        """Every shard's top k, merged: exact whenever each shard's search is."""
        calls = {
            i: (lambda c: c.vector_search(query, k, ef_search=ef_search))
            for i in range(len(self.clients))
        }
        hits = [hit for found in self.on_shards(calls).values() for hit in found]
        hits.sort(key=lambda h: (-h.similarity, h.concept_id))
        return hits[:k]

    def stats(self) -> Stats:
        """The shards' counters summed (uptime and snapshot time: the oldest shard's)."""
        calls = {i: (lambda c: c.stats()) for i in range(len(self.clients))}
        each = list(self.on_shards(calls).values())
        summed = {f.name: sum(getattr(s, f.name) for s in each) for f in dataclasses.fields(Stats)}
        summed["uptime_seconds"] = min(s.uptime_seconds for s in each)
        summed["last_snapshot_time"] = min(s.last_snapshot_time for s in each)
        summed["dimension"] = each[0].dimension
        return Stats(**summed)

    def health(self, service: str = "") -> bool:
        calls = {i: (lambda c: c.health(service)) for i in range(len(self.clients))}
        return all(self.on_shards(calls).values())


def _raw(client: StorageClient, name: str, request: Any) -> Any:
    """An RPC of the client's stub with its retries (for the RPCs it has no method for)."""
    return client._call(getattr(client._stub, name), request, idempotent=True)


def _with_id(concept: ConceptInput | Mapping[str, Any]) -> ConceptInput:
    """The concept with its id (content-derived when absent): the id decides its shard."""
    if isinstance(concept, Mapping):
        concept = ConceptInput(**concept)
    if concept.concept_id is None:
        concept = dataclasses.replace(concept, concept_id=concept_id_for(concept.content))
    return concept
