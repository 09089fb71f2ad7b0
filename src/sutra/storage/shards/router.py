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
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
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
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    StorageError,
)
from sutra.storage.ids import concept_id_for
from sutra.storage.limits import MAX_BATCH_IDS
from sutra.storage.model import AssociationType
from sutra.storage.shards.following import (
    MAP_CHECK_SECONDS,
    FollowsShardMap,
    Layout,
    MapState,
    rerouted,
)
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


class ShardedStorageClient(FollowsShardMap):
    """Client of the shards `targets` (host:port, in shard order).

    The map follows the shards: after `sutra storage reshard` switches them to a new map, the
    router adopts it (the shards report it, with every shard's address) at its next map check,
    at most `map_check_seconds` later, or at once when a shard refuses a call as not its own;
    a write refused because its concept is moving right now is sent again (ABORTED), for at
    most `reroute_seconds`.
    """

    def __init__(
        self,
        targets: Sequence[str],
        *,
        timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        options: Sequence[tuple[str, Any]] = (),
        verify: bool = True,  # check each shard's map and index before the first call
        # Each shard's read followers, in shard order (None: every read goes to the writers).
        readers: Sequence[Sequence[str]] | None = None,
        reroute_seconds: float = 30.0,
        map_check_seconds: float = MAP_CHECK_SECONDS,
    ) -> None:
        if readers is not None and len(readers) != len(targets):
            raise InvalidArgument(
                f"followers are given for {len(readers)} shards, the router has {len(targets)}"
            )
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.options = options
        self.readers = readers
        self.reroute_seconds = reroute_seconds
        self.map_check_seconds = map_check_seconds
        clients = [self._client_for(i, t) for i, t in enumerate(targets)]
        self._state = MapState(Layout(list(targets), ShardMap(len(targets)), clients))
        self._deadline: float | None = None  # set on the views of `bounded`
        # Shared by every caller's fan-out; a fan-out never waits on the pool from inside it.
        self._pool = ThreadPoolExecutor(8 * len(targets), "storage-shards")
        self._verified = not verify
        self.tokens = [0] * len(targets)  # the newest write sequence of each shard

    def _client_for(self, index: int, target: str) -> StorageClient:
        followers = self.readers[index] if self.readers and index < len(self.readers) else []
        return StorageClient(
            target,
            timeout=self.timeout,
            retry=self.retry,
            options=self.options,
            readers=list(followers),
        )

    # ------------------------------------------------------------- plumbing

    @property
    def clients(self) -> list[StorageClient]:
        clients = self._state.layout.clients
        if self._deadline is None:
            return clients
        return [c.bounded(self._deadline) for c in clients]

    def _client(self, index: int) -> StorageClient:
        client = self._state.layout.clients[index]
        return client if self._deadline is None else client.bounded(self._deadline)

    @property
    def last_token(self) -> tuple[int, ...]:
        return tuple(self.tokens)

    def bounded(self, deadline: float | None) -> ShardedStorageClient:
        if deadline is None:
            return self
        view = copy.copy(self)
        view._deadline = deadline
        return view

    def close(self) -> None:
        for client in self._state.layout.clients:
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
            return call(self._client(index))
        except (InvalidArgument, NotFound):
            raise  # about the request, in the server's words, as from one node
        except StorageError as exc:  # about the shard: which one
            raise _named(index, self.targets[index], exc) from None

    def on_shards(self, calls: Mapping[int, Callable[[StorageClient], T]]) -> dict[int, T]:
        """Each shard's call, in parallel; the first failure (by shard) is raised after all end."""
        results, failures = self._settled(calls)
        if failures:
            raise failures[min(failures)]
        return results

    def on_every_shard(self, call: Callable[[StorageClient], T]) -> dict[int, T]:
        """`call` on every shard of the current map, in parallel."""
        self._check_map()  # first: the map may switch, and with it the number of shards
        return self.on_shards(dict.fromkeys(range(len(self.targets)), call))

    def _settled(
        self, calls: Mapping[int, Callable[[StorageClient], T]]
    ) -> tuple[dict[int, T], dict[int, BaseException]]:
        """Each shard's call, in parallel: (results, failures) by shard once all end."""
        self._check_map()
        futures = {i: self._pool.submit(self.on_shard, i, call) for i, call in calls.items()}
        results: dict[int, T] = {}
        failures: dict[int, BaseException] = {}
        for index in sorted(futures):
            try:
                results[index] = futures[index].result()
            except BaseException as exc:
                failures[index] = exc
        return results, failures

    def rpc(self, index: int, name: str, request: Any) -> Any:
        """A raw read RPC of shard `index` (the shard-only ones: GetNeighborsBatch, ScanEdges)."""

        return self.on_shard(index, lambda client: _raw(client, name, request))

    def _owner(self, concept_id: str) -> int:
        """The shard of a concept; InvalidArgument (as from a server) for a malformed id."""
        self._check_map()  # routing by a map the shards have left would ask the wrong shard
        try:
            return self.map.owner(concept_id)
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None

    def _wrote(self, index: int, client: StorageClient) -> None:
        self.tokens[index] = max(self.tokens[index], client.last_token)

    # ---------------------------------------------------------------- writes

    @rerouted
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
        deadline = time.monotonic() + self.reroute_seconds
        sequence, pending = 0, (items, links)
        while True:
            parts = self._batch_parts(*pending)
            results, failures = self._settled({i: self._batch_part(i, p) for i, p in parts.items()})
            sequence = max([sequence, *(r.sequence for r in results.values())])
            if not failures:
                break
            other = [
                f for f in failures.values() if not isinstance(f, FailedPrecondition | Aborted)
            ]
            if other:
                raise other[0]
            first = failures[min(failures)]
            if not self._reroute(first, deadline):  # type: ignore[arg-type]
                raise first
            # Only the refused parts again (a concept part stored twice would be strengthened
            # twice); their associations to both endpoints' shards, as upserts.
            pending = (
                [c for i in failures for c in parts[i][0]],
                list({id(a): a for i in failures for a in parts[i][1]}.values()),
            )
        return BatchResult([c.concept_id for c in items], len(links), sequence)  # type: ignore[misc]

    def _batch_parts(
        self, items: Sequence[ConceptInput], links: Sequence[AssociationInput]
    ) -> dict[int, tuple[list[ConceptInput], list[AssociationInput]]]:
        """A batch split by owner: each shard's concepts and the associations it stores."""
        parts: dict[int, tuple[list[ConceptInput], list[AssociationInput]]] = defaultdict(
            lambda: ([], [])
        )
        for concept in items:
            parts[self._owner(concept.concept_id)][0].append(concept)  # type: ignore[arg-type]
        for link in links:
            for index in {self._owner(link.source_id), self._owner(link.target_id)}:
                parts[index][1].append(link)
        return parts

    def _batch_part(
        self, index: int, part: tuple[list[ConceptInput], list[AssociationInput]]
    ) -> Callable[[StorageClient], BatchResult]:
        def call(client: StorageClient) -> BatchResult:
            result = client.learn_batch(*part)
            self._wrote(index, client)
            return result

        return call

    @rerouted
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
        return max(self.on_every_shard(lambda c: c.flush()).values())

    # ----------------------------------------------------------------- reads

    @rerouted
    def get_concept(self, concept_id: str, *, embedding: bool = True) -> Concept | None:
        return self.on_shard(
            self._owner(concept_id), lambda c: c.get_concept(concept_id, embedding=embedding)
        )

    @rerouted
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

    @rerouted
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

    @rerouted
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

    @rerouted
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
        search = self.on_every_shard(lambda c: c.vector_search(query, k, ef_search=ef_search))
        best: dict[str, SearchHit] = {}
        for found in search.values():
            for hit in found:  # between a switch and its cleanup a moved concept is on two
                best.setdefault(hit.concept_id, hit)
        hits = sorted(best.values(), key=lambda h: (-h.similarity, h.concept_id))
        return hits[:k]

    def stats(self) -> Stats:
        """The shards' counters summed (uptime and snapshot time: the oldest shard's)."""
        each = list(self.on_every_shard(lambda c: c.stats()).values())
        summed = {f.name: sum(getattr(s, f.name) for s in each) for f in dataclasses.fields(Stats)}
        summed["uptime_seconds"] = min(s.uptime_seconds for s in each)
        summed["last_snapshot_time"] = min(s.last_snapshot_time for s in each)
        summed["dimension"] = each[0].dimension
        return Stats(**summed)

    def health(self, service: str = "") -> bool:
        return all(self.on_every_shard(lambda c: c.health(service)).values())


def _raw(client: StorageClient, name: str, request: Any, timeout: float | None = None) -> Any:
    """An RPC of the client's stub with its retries (for the RPCs it has no method for)."""
    return client._call(getattr(client._stub, name), request, timeout=timeout, idempotent=True)


def _with_id(concept: ConceptInput | Mapping[str, Any]) -> ConceptInput:
    """The concept with its id (content-derived when absent): the id decides its shard."""
    if isinstance(concept, Mapping):
        concept = ConceptInput(**concept)
    if concept.concept_id is None:
        concept = dataclasses.replace(concept, concept_id=concept_id_for(concept.content))
    return concept
