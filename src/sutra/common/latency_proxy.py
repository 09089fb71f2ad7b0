"""A TCP proxy that delays what the target sends back: a slow network, on one machine.

    with LatencyProxy("127.0.0.1", hybrid_port) as proxy:   # clients connect to proxy.port
        proxy.delay = 1.5                                    # every reply now 1.5 s late
    python -m sutra.common.latency_proxy --listen 18001 --target 127.0.0.1:8001 --delay 1.5

Each byte from the target reaches the client `delay` seconds after the proxy read it, as on a
link with that one-way latency: chunks keep their order and are not throttled, so a reply
split over several reads is late once, not once per read. The delay is read when a chunk
arrives, so changing it affects what arrives from then on. Requests pass without delay. A
client's end-of-file closes the connection to the target: HTTP clients close, they do not
half-close, and a target that hangs must not keep the connection open after its client left.
It runs on its own event loop in a thread, so a test or a benchmark can change `delay` while
the traffic flows; `tc netem` would need root and a network namespace.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
from collections.abc import Sequence

_CHUNK = 65536


class LatencyProxy:
    """Listens on 127.0.0.1 (`port`), forwards to `target_host:target_port`."""

    def __init__(self, target_host: str, target_port: int, *, port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.delay = 0.0  # seconds added to everything the target sends from now on
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="latency-proxy")
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()  # held: the loop keeps weak refs

    def start(self) -> LatencyProxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self._server = future.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    def _accept(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._connection(client_in, client_out))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    def close(self) -> None:
        async def shut() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(shut(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _connection(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            target_in, target_out = await asyncio.open_connection(*self.target)
        except OSError:
            client_out.close()  # the target is down: the client sees the connection close
            return
        replies = asyncio.get_running_loop().create_task(self._copy_late(target_in, client_out))
        try:
            await _copy(client_in, target_out)  # the client's end-of-file ends the connection
        except (OSError, asyncio.CancelledError):
            pass  # a side went away, or the proxy closes: nothing more to forward
        finally:
            replies.cancel()
            for writer in (client_out, target_out):
                writer.close()

    async def _copy_late(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Copy `source` to `sink`, each chunk `delay` seconds after it was read; a side that
        goes away (reset, closed) ends the copy."""
        loop = asyncio.get_running_loop()
        line: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def read() -> None:
            with contextlib.suppress(OSError):
                while chunk := await source.read(_CHUNK):
                    line.put_nowait((loop.time() + self.delay, chunk))
            line.put_nowait((loop.time() + self.delay, b""))

        reader = loop.create_task(read())
        try:
            while True:
                due, chunk = await line.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not chunk:
                    sink.write_eof()
                    break
                sink.write(chunk)
                await sink.drain()
        except OSError:
            pass
        finally:
            reader.cancel()


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy `source` to `sink` until end-of-file, then close `sink` (see the module's doc)."""
    while chunk := await source.read(_CHUNK):
        sink.write(chunk)
        await sink.drain()
    sink.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sutra.common.latency_proxy",
        description="Forward 127.0.0.1:LISTEN to TARGET, delaying every reply by DELAY "
        "seconds (a slow network between two local services). Ctrl-C stops it.",
    )
    parser.add_argument("--listen", type=int, required=True, help="port to listen on")
    parser.add_argument("--target", required=True, help="HOST:PORT to forward to")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds added to each reply")
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    proxy = LatencyProxy(host or "127.0.0.1", int(port), port=args.listen)
    proxy.delay = args.delay
    with proxy, contextlib.suppress(KeyboardInterrupt):
        print(f"127.0.0.1:{proxy.port} -> {args.target}, replies {args.delay:g} s late", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
