"""Question answering: right answers to everyday questions over everyday facts.

Data: `data/qa_facts.txt` (99 facts in plain sentences: people and their works, places,
animals, causes, parts and materials) and `data/qa_questions.yaml` (76 questions, each
with the answers that count as right) in five classes: one_hop, passive (the fact or the
question in the passive voice), two_hop (the answer is one relation further than the
fact that names the subject: "In which country did Einstein grow up?"), yes_no, and
unknown (about things never taught: the only right answer is "unknown").

Each embedder (the default model-free `hashing`, and the `semantic` extra when it is
installed) gets a fresh storage server process on 127.0.0.1; the facts are learned one
per call through the hybrid's `Learner` in process, and every question is asked through
`Reasoner.query` with threshold 0.3 (sutra-api's default for /reason).

Baseline, same run, same store: the top-1 learned sentence by embedding similarity
(`Reasoner.search`, entities skipped): right when that sentence contains the expected
answer; a yes/no question counts "yes" when its similarity is >= 0.5, else "no"; an
unknown question is right when no sentence reaches the threshold.
Figures: accuracy per class and overall for both, and the latency of one question (p50,
p95) against the baseline's.
"""

from __future__ import annotations

import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from common import Row, percentile, table

HERE = Path(__file__).resolve().parent
FACTS = HERE / "data" / "qa_facts.txt"
QUESTIONS = HERE / "data" / "qa_questions.yaml"
CLASSES = ("one_hop", "passive", "two_hop", "yes_no", "unknown")
THRESHOLD = 0.3


@dataclass
class Outcome:
    question: str
    kind: str
    expect: list[str]
    answer: str
    right: bool
    baseline: str
    baseline_right: bool
    seconds: float
    baseline_seconds: float


def load() -> tuple[list[str], list[dict]]:
    lines = FACTS.read_text(encoding="utf-8").splitlines()
    facts = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    questions = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    return facts, questions


def is_right(kind: str, expect: list[str], answer: str) -> bool:
    said = answer.casefold().strip()
    if kind == "unknown":
        return said == "unknown"
    if kind == "yes_no":
        return said in {e.casefold() for e in expect}
    return any(e.casefold() in said for e in expect)


def baseline(reasoner, question: dict) -> tuple[str, bool]:  # type: ignore[no-untyped-def]
    """The top-1 learned sentence (entities skipped) and whether it counts as right."""
    from sutra.hybrid.extraction import is_entity

    hits = [h for h in reasoner.search(question["q"], 20, -1.0) if not is_entity(h["content"])]
    top = hits[0] if hits else {"content": "", "similarity": 0.0}
    similarity, sentence = float(top["similarity"]), str(top["content"])
    kind = question["class"]
    if kind == "unknown":
        return sentence, similarity < THRESHOLD
    if kind == "yes_no":
        said = "yes" if similarity >= 0.5 else "no"
        return f"{said} ({sentence})", said in question["expect"]
    return sentence, similarity >= THRESHOLD and is_right(kind, question["expect"], sentence)


def ask_all(embed: Callable[..., np.ndarray], facts: list[str], questions: list[dict], rounds: int):  # type: ignore[no-untyped-def]
    from sutra.hybrid.learning import Learner, LearnItem
    from sutra.hybrid.reasoning import Reasoner
    from sutra.storage.client import StorageClient
    from sutra.storage.testing import run_server

    outcomes: list[Outcome] = []
    with (
        tempfile.TemporaryDirectory(prefix="sutra-bench-qa-") as directory,
        run_server(Path(directory) / "data") as server,
        StorageClient(server.address, timeout=30) as client,
    ):
        reasoner = Reasoner(client, embed)
        try:
            learner = Learner(client, embed, reasoner.pool)
            for fact in facts:
                learner.learn([LearnItem(fact)])
            for q in questions[:5]:  # warm-up: connections and code paths
                reasoner.query(q["q"], threshold=THRESHOLD)
            for question in questions:
                outcomes.append(ask(reasoner, question, rounds))
        finally:
            reasoner.close()
    return outcomes


def ask(reasoner, question: dict, rounds: int) -> Outcome:  # type: ignore[no-untyped-def]
    times, baseline_times = [], []
    for _ in range(rounds):  # interleaved, so background load hits both alike
        started = time.perf_counter()
        result = reasoner.query(question["q"], threshold=THRESHOLD)
        times.append(time.perf_counter() - started)
        started = time.perf_counter()
        sentence, baseline_right = baseline(reasoner, question)
        baseline_times.append(time.perf_counter() - started)
    answer = str(result["answer"])
    return Outcome(
        question["q"],
        question["class"],
        list(question["expect"]),
        answer,
        is_right(question["class"], question["expect"], answer),
        sentence,
        baseline_right,
        min(times),
        min(baseline_times),
    )


def accuracy(outcomes: Sequence[Outcome], attr: str) -> float:
    return 100.0 * sum(getattr(o, attr) for o in outcomes) / max(len(outcomes), 1)


def rows_for(name: str, outcomes: list[Outcome]) -> list[Row]:
    by_class: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_class[o.kind].append(o)
    rows = []
    for kind in CLASSES:
        group = by_class[kind]
        right = sum(o.right for o in group)
        target, met = (
            ("100 %", accuracy(group, "right") == 100) if kind == "unknown" else ("", None)
        )
        rows.append(
            Row(
                f"{name}: {kind} ({right}/{len(group)})",
                accuracy(group, "right"),
                "%",
                accuracy(group, "baseline_right"),
                "top-1 sentence",
                target,
                met,
            )
        )
    overall = accuracy(outcomes, "right")
    target = ">= 90 %" if name == "hashing" else ""
    rows.append(
        Row(
            f"{name}: overall ({sum(o.right for o in outcomes)}/{len(outcomes)})",
            overall,
            "%",
            accuracy(outcomes, "baseline_right"),
            "top-1 sentence",
            target,
            overall >= 90 if target else None,
        )
    )
    ms = sorted(o.seconds * 1000 for o in outcomes)
    base = sorted(o.baseline_seconds * 1000 for o in outcomes)
    rows.append(
        Row(f"{name}: question p50", percentile(ms, 50), "ms", percentile(base, 50), "search")
    )
    rows.append(
        Row(f"{name}: question p95", percentile(ms, 95), "ms", percentile(base, 95), "search")
    )
    return rows


def embedders() -> list[tuple[str, Callable[..., np.ndarray]]]:
    from sutra.hybrid.embeddings import HashingEmbedder, make_embedder

    found: list[tuple[str, object]] = [("hashing", HashingEmbedder(384))]
    try:
        found.append(("semantic", make_embedder("semantic", 384)))
    except Exception as exc:  # the extra is optional
        print(f"qa: semantic embedder skipped ({type(exc).__name__}: {exc})", flush=True)
    return [(name, _embed_fn(e)) for name, e in found]


def _embed_fn(embedder) -> Callable[..., np.ndarray]:  # type: ignore[no-untyped-def]
    return lambda texts, timeout=None: embedder.embed(list(texts))


def run(quick: bool = False) -> list[Row]:
    facts, questions = load()
    rounds = 1 if quick else 3
    rows: list[Row] = []
    for name, embed in embedders():
        outcomes = ask_all(embed, facts, questions, rounds)
        rows += rows_for(name, outcomes)
        for o in outcomes:
            if not o.right:
                said = f"{o.question!r} -> {o.answer!r}, expected {o.expect}"
                print(f"qa [{name}] wrong ({o.kind}): {said}")
    print(f"qa: {len(facts)} facts, {len(questions)} questions, threshold {THRESHOLD}")
    print(table("qa", rows), flush=True)
    return rows


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    run(quick=parser.parse_args().quick)
