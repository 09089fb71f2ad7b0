"""Question answering: questions read as facts with a hole, answered over the learned
relations by the real service (storage server + sutra-hybrid processes)."""

from __future__ import annotations

import pytest

from sutra.hybrid.questions import WH, YES_NO, parse_question
from tests.hybrid.conftest import Stack

FACTS = [
    "Grace Hopper grew up in New York.",
    "New York is a city in the United States.",
    "Frankenstein was written by Mary Shelley.",
    "Owls hunt mice.",
    "Tulips are flowers.",
    "Flowers are plants.",
    "Hedgehogs do not eat chocolate.",
    "The retina is part of the eye.",
    "The eye detects light.",
    "Droughts cause crop failure.",
    "Crop failure leads to famine.",
]


@pytest.mark.parametrize(
    ("question", "subject", "label", "asks"),
    [
        ("Who wrote Frankenstein?", "frankenstein", "wrote", "source"),
        ("Who was Frankenstein written by?", "frankenstein", "wrote", "source"),
        ("Where did Grace Hopper grow up?", "grace hopper", "grow up in", "target"),
        ("In which country did Grace Hopper grow up?", "grace hopper", "grow up in", "target"),
        ("What do owls hunt?", "owl", "hunt", "target"),
        ("What is the retina part of?", "retina", "is part of", "target"),
        ("What is the capital of Peru?", "peru", "is the capital of", "source"),
    ],
)
def test_wh_questions_are_facts_with_a_hole(
    question: str, subject: str, label: str, asks: str
) -> None:
    parsed = parse_question(question, lambda name: name == "retina")
    assert parsed is not None and parsed.kind == WH
    assert (parsed.subject, parsed.label, parsed.asks) == (subject, label, asks)


def test_yes_no_questions_name_both_ends_and_which_asks_for_a_kind() -> None:
    parsed = parse_question("Are tulips plants?", lambda name: name == "tulip")
    assert parsed is not None and parsed.kind == YES_NO
    assert (parsed.subject, parsed.object) == ("tulip", "plant")
    parsed = parse_question("In which country did Grace Hopper grow up?")
    assert parsed is not None and parsed.focus == "country"
    assert parse_question("spectacular rings made of ice") is None


@pytest.fixture(scope="module")
def taught(stack: Stack) -> Stack:
    response = stack.http.post("/sutra/learn/batch", json={"items": [{"text": f} for f in FACTS]})
    assert response.status_code == 201, response.text
    return stack


def ask(stack: Stack, question: str, **options: object) -> dict:
    response = stack.http.post("/sutra/query", json={"query": question, **options})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("question", "answer", "hops"),
    [
        ("Who wrote Frankenstein?", "mary shelley", 1),  # taught in the passive
        ("Who was Frankenstein written by?", "mary shelley", 1),
        ("What do owls hunt?", "mouse", 1),
        ("Where did Grace Hopper grow up?", "new york", 1),
        ("In which country did Grace Hopper grow up?", "united states", 2),
        ("What does the retina help detect?", "light", 2),
    ],
)
def test_answers_are_entities_with_their_path(
    taught: Stack, question: str, answer: str, hops: int
) -> None:
    body = ask(taught, question, threshold=0.3)
    assert (body["answer"], body["status"], body["answer_type"]) == (answer, "answered", "entity")
    assert 0.3 <= body["confidence"] <= 1
    assert body["confidence_breakdown"]["final"] == body["confidence"]
    best = body["reasoning_paths"][0]
    assert best["path"][-1] == answer and len(best["edges"]) == hops
    assert all(e["label"] for e in best["edges"])  # each edge says what it means


def test_two_hop_path_is_the_evidence(taught: Stack) -> None:
    body = ask(taught, "In which country did Grace Hopper grow up?")
    best = body["reasoning_paths"][0]
    assert best["path"] == ["grace hopper", "new york", "united states"]
    assert [e["label"] for e in best["edges"]] == ["grew up in", "is a city in"]
    assert "grace hopper grew up in new york" in body["explanation"]


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Are tulips plants?", "yes"),  # two "is a" hops
        ("Does drought cause famine?", "yes"),  # a cause's cause
        ("Do hedgehogs eat chocolate?", "no"),  # a negated fact
        ("Is New York in Canada?", "unknown"),  # Canada was never taught
    ],
)
def test_yes_no(taught: Stack, question: str, answer: str) -> None:
    body = ask(taught, question)
    assert body["answer"] == answer
    if answer != "unknown":
        assert body["answer_type"] == "yes_no" and body["reasoning_paths"]


@pytest.mark.parametrize(
    "question",
    ["Who wrote Dracula?", "What do tulips eat?", "Where did Ada Lovelace grow up?"],
)
def test_what_was_never_taught_is_unknown(taught: Stack, question: str) -> None:
    body = ask(taught, question)
    assert (body["answer"], body["status"], body["confidence"]) == ("unknown", "unknown", 0)
    assert body["reasoning_paths"] == [] and body["explanation"].startswith("Unknown")


def test_same_question_same_answer_and_threshold_withholds(taught: Stack) -> None:
    question = "In which country did Grace Hopper grow up?"
    first = ask(taught, question)
    assert all(ask(taught, question) == first for _ in range(2))
    strict = ask(taught, question, threshold=1.0)
    assert (strict["answer"], strict["status"]) == ("", "below_threshold")
