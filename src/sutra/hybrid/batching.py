"""Micro-batched embedding: concurrent requests' texts are embedded together, off the loop.

Callers (request handlers running in worker threads) hand their texts to `embed`. Texts
found in the LRU cache are answered at once; the rest join a bounded queue that one worker
thread drains: it takes up to `batch_size` texts, waiting at most `batch_wait` seconds for
more to arrive, and embeds them in one embedder call. A text already queued by another
request is not queued twice. When admitting a request's texts would exceed `queue_size`,
the request is refused at once with `EmbedQueueFull` (the service answers 503 with
Retry-After) instead of waiting behind a queue that cannot drain in time.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from sutra.hybrid.embeddings import Embedder, EmbeddingCache
from sutra.hybrid.metrics import HybridMetrics


class EmbedQueueFull(Exception):
    def __init__(self, queued: int, wanted: int, capacity: int) -> None:
        super().__init__(
            f"embedding queue is full ({queued} texts queued, {wanted} more would exceed "
            f"{capacity}); retry shortly"
        )


class EmbedderStopped(Exception):
    pass


class EmbeddingService:
    def __init__(
        self,
        embedder: Embedder,
        *,
        cache_size: int = 10_000,
        batch_size: int = 64,
        batch_wait: float = 0.002,
        queue_size: int = 1024,
        metrics: HybridMetrics | None = None,
    ) -> None:
        self.embedder = embedder
        self.cache = EmbeddingCache(cache_size)
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.queue_size = queue_size
        self.metrics = metrics or HybridMetrics()
        self._queue: deque[str] = deque()
        self._inflight: dict[str, Future[np.ndarray]] = {}  # queued or being embedded
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="embedder", daemon=True)

    @property
    def dimension(self) -> int:
        return self.embedder.dimension

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def depth(self) -> int:
        with self._cond:
            return len(self._inflight)

    def embed(self, texts: Sequence[str], timeout: float = 30.0) -> np.ndarray:
        """Rows for `texts` (float32, unit length), in order; EmbedQueueFull when full."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        waiting: list[tuple[int, Future[np.ndarray]]] = []
        missing: dict[str, list[int]] = {}
        for row, text in enumerate(texts):
            vector = self.cache.get(text)
            if vector is not None:
                out[row] = vector
                self.metrics.cache_hits.inc()
            else:
                missing.setdefault(text, []).append(row)
        if missing:
            self.metrics.cache_misses.inc(len(missing))
            with self._cond:
                if self._stopping:
                    raise EmbedderStopped("the embedder is shutting down")
                new = [text for text in missing if text not in self._inflight]
                if new and len(self._inflight) + len(new) > self.queue_size:
                    self.metrics.queue_rejected.inc(len(new))
                    raise EmbedQueueFull(len(self._inflight), len(new), self.queue_size)
                for text in new:
                    self._inflight[text] = Future()
                    self._queue.append(text)
                for text, rows in missing.items():
                    waiting.extend((row, self._inflight[text]) for row in rows)
                self.metrics.queue_depth.set(len(self._inflight))
                if new:
                    self._cond.notify()
        for row, future in waiting:
            out[row] = future.result(timeout)
        return out

    def _take(self) -> list[str] | None:
        """The next micro-batch, or None when stopping with nothing left."""
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait()
            if len(self._queue) < self.batch_size and self.batch_wait > 0:
                deadline = time.monotonic() + self.batch_wait
                while len(self._queue) < self.batch_size and not self._stopping:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            count = min(self.batch_size, len(self._queue))
            return [self._queue.popleft() for _ in range(count)]

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            started = time.perf_counter()
            try:
                matrix = self.embedder.embed(batch)
                error: BaseException | None = None
            except Exception as exc:
                error = exc
            self.metrics.embed_duration.observe(time.perf_counter() - started)
            self.metrics.embed_batch.observe(len(batch))
            with self._cond:
                futures = [self._inflight.pop(text) for text in batch]
                self.metrics.queue_depth.set(len(self._inflight))
            for index, (text, future) in enumerate(zip(batch, futures, strict=True)):
                if error is not None:
                    future.set_exception(error)
                else:
                    vector = np.ascontiguousarray(matrix[index], dtype=np.float32)
                    self.cache.put(text, vector)
                    future.set_result(vector)
            self.metrics.cache_size.set(len(self.cache))
