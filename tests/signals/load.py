"""One write load on three paths, recording every write that was acknowledged.

    storage   LearnConcept over gRPC, straight to a storage server
    hybrid    POST /sutra/learn to sutra-hybrid (which writes to its store)
    api       POST /learn to sutra-api (through sutra-hybrid to its store)

Each path has its own closed-loop writer threads, aimed at a running service with `aim` and
idle otherwise, so services start on a quiet machine and the load lands on their stops. A
writer whose service went away waits for the path's next `aim`.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

from sutra.common.testing import poll
from sutra.storage.client import RetryPolicy, StorageClient, StorageError

PATHS = ("storage", "hybrid", "api")


@dataclass
class _Path:
    target: str | None = None
    generation: int = 0  # one more on every aim and disarm
    acknowledged: list[str] = field(default_factory=list)  # concept ids


class Load:
    def __init__(self, writers_per_path: int = 2, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._cond = threading.Condition()
        self._paths = {path: _Path() for path in PATHS}
        self._closed = False
        self._numbers = itertools.count()
        self._threads = [
            threading.Thread(target=self._run, args=(path,), name=f"load-{path}", daemon=True)
            for path in PATHS
            for _ in range(writers_per_path)
        ]
        for thread in self._threads:
            thread.start()

    def aim(self, path: str, target: str) -> None:
        """Start writing on `path` to `target` (a gRPC address or a base URL)."""
        self._set(path, target)

    def disarm(self, path: str) -> None:
        self._set(path, None)

    def acknowledged(self, path: str) -> list[str]:
        with self._cond:
            return list(self._paths[path].acknowledged)

    def wait_for_writes(self, path: str, at_least: int, timeout: float = 60.0) -> None:
        """Until `path` has `at_least` more acknowledged writes than now."""
        before = len(self.acknowledged(path))
        poll(
            lambda: len(self.acknowledged(path)) - before >= at_least,
            timeout=timeout,
            interval=0.01,
            what=f"{at_least} writes acknowledged on the {path} path",
        )

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)

    def _set(self, path: str, target: str | None) -> None:
        with self._cond:
            state = self._paths[path]
            state.target = target
            state.generation += 1
            self._cond.notify_all()

    def _run(self, path: str) -> None:
        state = self._paths[path]
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or state.target is not None)
                if self._closed:
                    return
                target, generation = state.target, state.generation
            assert target is not None
            try:
                with contextlib.closing(self._writes(path, target)) as writes:
                    for ids in writes:
                        with self._cond:
                            state.acknowledged.extend(ids)
                            if state.generation != generation:
                                break  # disarmed or aimed elsewhere
            except (StorageError, httpx.HTTPError):
                pass  # the service is stopping or gone: this write was not acknowledged
            with self._cond:  # rather than hammer a closed port: the next aim, or a moment
                self._cond.wait_for(
                    lambda g=generation: self._closed or state.generation != g, timeout=0.2
                )

    def _text(self, path: str) -> str:
        return f"stop signal fact {path} {next(self._numbers)}"

    def _writes(self, path: str, target: str) -> Iterator[list[str]]:
        """Write until something fails; yield the concept ids of each acknowledged write."""
        if path == "storage":
            retry = RetryPolicy(attempts=1)
            with StorageClient(target, timeout=self.timeout, retry=retry) as client:
                while True:
                    yield [client.learn_concept(self._text(path)).concept_id]
        with httpx.Client(base_url=target, timeout=self.timeout) as http:
            while True:
                if path == "hybrid":
                    reply = http.post("/sutra/learn", json={"text": self._text(path)})
                else:
                    reply = http.post("/learn", json={"content": self._text(path)})
                if reply.status_code != 201:
                    return  # 503 while stopping: not acknowledged
                body = reply.json()
                yield body.get("concept_ids") or [body["concept_id"]]
