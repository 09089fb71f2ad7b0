"""Faults injected into a running local stack under steady load: the fault bench's phases.

`fault_stack` runs `sutra up` (every service a real process, supervised) with a
`LatencyProxy` between sutra-api and sutra-hybrid; `Load` keeps clients sending a mix of
/reason questions, /concepts/{id} reads and /learn writes, each client honouring Retry-After;
`run_phase` injects one fault and measures what the clients saw:

- freeze-hybrid, freeze-storage: SIGSTOP for the phase, then SIGCONT (a GC pause, a stuck
  call, a partition);
- kill-hybrid, kill-storage: SIGKILL; the fault lasts until `sutra up` has restarted the
  member and it is ready again (read from the stack's state file);
- slow-hybrid: every reply from hybrid to the API arrives 1.5 s late for the phase.

The bench (bench/faults.py, `sutra bench faults`) prints the figures; tests/resilience runs the
same phases with small numbers and asserts on them. Both live here, in the package, so the
tests import them like any other module.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sutra.api.settings import ApiSettings
from sutra.common.latency_proxy import LatencyProxy
from sutra.common.testing import free_port, poll
from sutra.stack.testing import UpStack, run_up

PHASES = ("freeze-hybrid", "kill-hybrid", "freeze-storage", "kill-storage", "slow-hybrid")
MEMBERS = {"hybrid": "sutra-hybrid", "storage": "storage-server"}
KINDS = ("reason", "read", "learn")  # each is its own route group, with its own budget
# Client k sends only ROTATION[k % 4]: a client stuck on a frozen hybrid (a closed loop) would
# otherwise stop sending the reads that do not need hybrid, and hide that they still work.
ROTATION = ("reason", "read", "learn", "reason")
SLOW_REPLY_SECONDS = 1.5
RECOVERY_TIMEOUT = 90.0
THINK_SECONDS = 0.05  # between one client's requests: leaves the CPUs to the servers
NO_RATE_LIMITS = {
    f"SUTRA_RATE_LIMIT_{group}": "0"
    for group in ("LEARN", "BATCH", "SEARCH", "REASON", "READ", "DEFAULT")
}
# Questions about the demo knowledge set (src/sutra/stack/demo_knowledge.txt).
QUESTIONS = (
    "What does the heart help transport?",
    "What carries oxygen?",
    "What causes dizziness?",
    "What does exercise cause?",
    "What produces oxygen?",
    "What absorbs sunlight?",
    "What is a tree?",
    "What does the respiratory system absorb?",
    "What does blood contain?",
    "What causes photosynthesis?",
)


def setting(env: Mapping[str, str], name: str) -> float:
    """An API setting as the stack's API sees it: from `env`, else its default."""
    value = env.get(f"SUTRA_{name.upper()}")
    return float(value if value is not None else ApiSettings.model_fields[name].default)


@dataclass
class FaultStack:
    up: UpStack
    proxy: LatencyProxy

    @property
    def api(self) -> str:
        return self.up.api

    def budget(self, kind: str) -> float:
        return setting(self.up.env, f"budget_{kind}_seconds")

    @property
    def breaker_reset(self) -> float:
        return setting(self.up.env, "breaker_reset_seconds")


@contextlib.contextmanager
def fault_stack(folder: Path, env: Mapping[str, str] | None = None) -> Iterator[FaultStack]:
    """`sutra up` with the demo set, no rate limits, the API reaching hybrid via a proxy."""
    hybrid_port = free_port()
    with LatencyProxy("127.0.0.1", hybrid_port) as proxy:
        stack_env = {
            **NO_RATE_LIMITS,
            "SUTRA_HYBRID_PORT": str(hybrid_port),
            "SUTRA_HYBRID_URL": f"http://127.0.0.1:{proxy.port}",
            **(env or {}),
        }
        with run_up(folder, stack_env) as up:
            yield FaultStack(up, proxy)


@dataclass(frozen=True)
class Call:
    kind: str
    started: float  # time.monotonic()
    ended: float
    status: int  # 0: no HTTP answer (refused, reset, the client's own timeout)
    degraded: bool = False  # a stale answer from the cache, marked by the API

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def ok(self) -> bool:
        """A real answer: a success that did not come from the cache in place of one."""
        return 200 <= self.status < 300 and not self.degraded


@dataclass(frozen=True)
class Written:
    """A /learn the API acknowledged (201): it must be readable afterwards."""

    concept_id: str
    content: str


@dataclass
class Load:
    """`clients` threads, each sending one kind of request (ROTATION) until stopped.

    A refusal with Retry-After (503, 429) makes that client wait that long, as a well-behaved
    client does; a request that got no answer at all is retried after 0.2 s.
    """

    api: str
    clients: int
    seed_ids: list[str]
    calls: list[Call] = field(default_factory=list)
    written: list[Written] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        self._threads = [
            threading.Thread(target=self._client, args=(k,), daemon=True)
            for k in range(self.clients)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _client(self, k: int) -> None:
        rng = random.Random(k)
        kind = ROTATION[k % len(ROTATION)]
        with httpx.Client(base_url=self.api, timeout=30) as http:
            n = 0
            while not self.stop.is_set():
                n += 1
                call, retry_after = self._one(http, kind, f"{k}-{n}", rng)
                self.calls.append(call)
                self.stop.wait(retry_after or (THINK_SECONDS if call.status else 0.2))

    def _one(
        self, http: httpx.Client, kind: str, tag: str, rng: random.Random
    ) -> tuple[Call, float]:
        """Send one request of `kind`: the call, and the Retry-After it asked for (or 0)."""
        started = time.monotonic()
        try:
            if kind == "reason":
                reply = http.post("/reason", json={"query": rng.choice(QUESTIONS)})
            elif kind == "read":
                ids = self.seed_ids + [w.concept_id for w in self.written[-200:]]
                reply = http.get(f"/concepts/{rng.choice(ids)}")
            else:
                content = f"Fault drill {tag} causes record {tag}."
                reply = http.post("/learn", json={"content": content, "source": "faults"})
                if reply.status_code == 201:
                    self.written.append(Written(reply.json()["concept_id"], content))
        except httpx.HTTPError:
            return Call(kind, started, time.monotonic(), 0), 0.0
        degraded = "x-sutra-degraded" in reply.headers
        call = Call(kind, started, time.monotonic(), reply.status_code, degraded)
        retry = reply.headers.get("retry-after", "")
        return call, float(retry) if retry.isdigit() else 0.0

    def since(self, moment: float) -> list[Call]:
        return [c for c in list(self.calls) if c.started >= moment]


@dataclass
class PhaseResult:
    """What the clients saw of one fault."""

    name: str
    start: float
    end: float
    calls: list[Call]  # the requests started while the fault lasted
    recovery: dict[str, float | None]  # kind -> from the fault's end to its first real answer
    budgets: dict[str, float]
    breaker_reset: float
    restarts: list[str] = field(default_factory=list)  # what `sutra up` said meanwhile

    @property
    def statuses(self) -> Counter[int]:
        return Counter(c.status for c in self.calls)

    def of(self, kind: str) -> list[Call]:
        return [c for c in self.calls if c.kind == kind]

    def overrun(self, call: Call) -> float:
        """How far past its route budget a request ended (negative: within it)."""
        return call.seconds - self.budgets[call.kind]


def seed(stack: FaultStack, count: int = 5) -> list[str]:
    """Learn a few facts to read back under load; their ids."""
    with httpx.Client(base_url=stack.api, timeout=30) as http:
        ids = []
        for i in range(count):
            reply = http.post("/learn", json={"content": f"Seed fact {i} causes reading {i}."})
            reply.raise_for_status()
            ids.append(reply.json()["concept_id"])
        return ids


def inject(stack: FaultStack, phase: str, seconds: float) -> tuple[float, float]:
    """Apply the phase's fault; (its start, its end) in `time.monotonic()`."""
    action, _, target = phase.partition("-")
    name = MEMBERS[target]
    if action == "slow":
        start = time.monotonic()
        stack.proxy.delay = SLOW_REPLY_SECONDS
        time.sleep(seconds)  # the fault's length, not a wait for a condition
        stack.proxy.delay = 0.0
        return start, time.monotonic()
    member = stack.up.member(name)
    if action == "freeze":
        start = time.monotonic()
        os.kill(member["pid"], signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(member["pid"], signal.SIGCONT)
        return start, time.monotonic()
    if action == "kill":
        start = time.monotonic()
        os.kill(member["pid"], signal.SIGKILL)

        def back() -> bool:
            now = stack.up.member(name)
            return now["restarts"] > member["restarts"] and now["state"] == "ready"

        poll(back, timeout=RECOVERY_TIMEOUT, interval=0.05, what=f"{name} restarted")
        return start, time.monotonic()
    raise ValueError(f"unknown phase {phase!r}; known: {', '.join(PHASES)}")


def recovered(load: Load, end: float, timeout: float = RECOVERY_TIMEOUT) -> dict[str, float | None]:
    """Wait until each kind has a real answer to a request sent after `end`: the delays."""
    first: dict[str, float | None] = dict.fromkeys(KINDS)
    deadline = time.monotonic() + timeout
    while None in first.values() and time.monotonic() < deadline:
        for call in load.since(end):
            if call.ok and (first[call.kind] is None or call.ended - end < first[call.kind]):
                first[call.kind] = call.ended - end
        load.stop.wait(0.1)
    return first


def run_phase(stack: FaultStack, load: Load, phase: str, seconds: float) -> PhaseResult:
    """Inject `phase` for `seconds` under `load`, wait for recovery, return what was seen."""
    said_before = stack.up.output().count("; restart ")
    start, end = inject(stack, phase, seconds)
    recovery = recovered(load, end)
    said = [line for line in stack.up.output().splitlines() if "; restart " in line]
    return PhaseResult(
        name=phase,
        start=start,
        end=end,
        calls=[c for c in list(load.calls) if start <= c.started < end],
        recovery=recovery,
        budgets={kind: stack.budget(kind) for kind in KINDS},
        breaker_reset=stack.breaker_reset,
        restarts=said[said_before:],
    )


def lost_writes(api: str, written: list[Written], attempts: int = 20) -> list[Written]:
    """The acknowledged writes that cannot be read back, with their content, through the API."""

    def missing(http: httpx.Client, write: Written) -> bool:
        for _ in range(attempts):
            with contextlib.suppress(httpx.HTTPError):
                reply = http.get(f"/concepts/{write.concept_id}")
                if reply.status_code == 200:
                    return reply.json()["content"] != write.content
                if reply.status_code == 404:
                    return True
            time.sleep(0.5)  # a dependency still recovering: ask again shortly
        return True

    def check(share: list[Written]) -> list[Written]:
        with httpx.Client(base_url=api, timeout=10) as http:
            return [write for write in share if missing(http, write)]

    with ThreadPoolExecutor(8) as pool:
        return [w for lost in pool.map(check, [written[i::8] for i in range(8)]) for w in lost]
