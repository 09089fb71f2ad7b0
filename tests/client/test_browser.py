"""The UI in a real browser (Debian's Chromium driven by Playwright) against the stack started
as `make run` starts it (`sutra up`), here on free ports with an empty store. Each test stands
alone, in any order: what a test changes (the store's knowledge, a rate-limit budget, a stopped
stack) is its own."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sutra.common.testing import HttpService, dead_url
from sutra.stack.testing import UpStack, run_up
from sutra.storage.testing import run_server

from .support import run_api_alone, run_client

REASON_LIMIT = 2  # per 10 minutes, for the rate-limit test's own gateway
FACTS = (
    "The heart is part of the circulatory system.",
    "The circulatory system transports oxygen.",
)
QUESTION = "What does the heart help transport?"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpStack]:
    """`sutra up` with an empty store; tests add to its knowledge, never take away."""
    with run_up(tmp_path_factory.mktemp("stack"), demo=False) as running:
        yield running


@pytest.fixture(scope="module")
def learned(stack: UpStack) -> UpStack:
    """The stack knowing FACTS, learned through the API (the UI's learning has its own test)."""
    for fact in FACTS:
        reply = httpx.post(stack.api + "/learn", json={"content": fact}, timeout=60)
        assert reply.status_code == 201, reply.text
    return stack


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpService]:
    """The UI over a store that stays empty: storage, sutra-api and the client's server (no
    reasoning service, which an empty page never calls)."""
    folder = tmp_path_factory.mktemp("empty-store")
    with (
        run_server(folder / "data") as storage,
        run_api_alone(folder, {"SUTRA_STORAGE_SERVER": storage.address}) as api,
        run_client(api.url, folder) as client,
    ):
        yield client


def wait_state(page: Any, *states: str) -> str:
    page.wait_for_function(
        "states => states.includes(document.body.dataset.state)", arg=list(states)
    )
    return page.evaluate("document.body.dataset.state")


def test_an_empty_store_asks_to_learn_first(empty_store: HttpService, browser_page: Any) -> None:
    page = browser_page.page
    page.goto(empty_store.url)
    wait_state(page, "empty")
    assert page.is_visible("#notice")
    assert "Nothing learned yet" in page.inner_text("#notice")
    assert page.inner_text("#knowledge") == "0 concepts and 0 associations learned"
    browser_page.screenshot("empty-knowledge")
    assert browser_page.console_errors == []


def test_learn_then_ask_shows_the_answer_and_its_reasoning_graph(
    stack: UpStack, browser_page: Any
) -> None:
    page = browser_page.page
    page.goto(stack.client)
    wait_state(page, "empty", "ready")  # ready when another test learned them already
    for fact in FACTS:
        page.fill("#fact", fact)
        page.click("#learn-button")
        wait_state(page, "ready")
        assert page.inner_text("#learn-result").startswith("Learned: ")
    page.wait_for_function("!document.getElementById('knowledge').textContent.startsWith('0 ')")
    browser_page.screenshot("learned")

    page.fill("#question", QUESTION)
    page.click("#ask-button")
    wait_state(page, "answered")
    assert "oxygen" in page.inner_text("#answer-text")
    confidence = float(page.inner_text("#confidence-value"))
    assert 0 < confidence <= 1
    assert "circulatory system" in page.inner_text("#explanation")
    assert "heart → circulatory system" in page.inner_text("#paths")

    # The drawn path: heart -> circulatory system -> the answer, each edge with its confidence.
    page.wait_for_selector("#graph svg")
    nodes = page.locator("#graph svg .node > title").all_text_contents()
    assert nodes[0] == "heart" and "circulatory system" in nodes
    answer = page.locator("#graph svg .node.answer > title").all_text_contents()
    assert answer == [page.inner_text("#answer-text")]
    labels = page.locator("#graph svg .edge-label")
    assert labels.count() >= 2
    for i in range(labels.count()):
        value = float(labels.nth(i).get_attribute("data-confidence") or "nan")
        assert 0 < value <= 1
        assert (labels.nth(i).text_content() or "").endswith(f"{value:.2f}")
    browser_page.screenshot("answered")
    assert browser_page.console_errors == []


def test_a_rate_limited_client_is_told_when_to_retry(
    learned: UpStack, browser_page: Any, tmp_path: Path
) -> None:
    """A gateway of its own over the stack's store and reasoning: a budget no other test
    spends, and none left for them once this one has spent it."""
    limits = {
        "SUTRA_STORAGE_SERVER": f"127.0.0.1:{learned.env['SUTRA_STORAGE_PORT']}",
        "SUTRA_HYBRID_URL": learned.url("SUTRA_HYBRID_PORT"),
        "SUTRA_RATE_LIMIT_REASON": str(REASON_LIMIT),
        "SUTRA_RATE_LIMIT_WINDOW_SECONDS": "600",
    }
    with run_api_alone(tmp_path, limits) as api, run_client(api.url, tmp_path) as client:
        page = browser_page.page
        page.goto(client.url)
        wait_state(page, "ready")
        page.fill("#question", QUESTION)
        states = []
        for _ in range(REASON_LIMIT + 1):
            page.click("#ask-button")
            states.append(wait_state(page, "answered", "rate-limited"))
            if states[-1] == "rate-limited":
                break
        assert states == ["answered"] * REASON_LIMIT + ["rate-limited"]
        text = page.inner_text("#notice")
        seconds = int(re.search(r"retry in (\d+) s", text).group(1))  # type: ignore[union-attr]
        assert 1 <= seconds <= 600
        assert page.is_disabled("#ask-button") and page.is_disabled("#learn-button")
        browser_page.screenshot("rate-limited")
    assert browser_page.errors_except("status of 429") == []


def test_the_page_says_so_when_its_proxy_cannot_reach_the_api(
    browser_page: Any, tmp_path: Path
) -> None:
    with run_client(dead_url(), tmp_path) as client:
        page = browser_page.page
        page.goto(client.url)
        wait_state(page, "api-down")
        notice = page.inner_text("#notice")
        assert "The Sutra API is unavailable" in notice and "cannot be reached" in notice
        browser_page.screenshot("api-unreachable")
    assert browser_page.errors_except("status of 502") == []


def test_stopping_the_api_shows_the_error_state(browser_page: Any, tmp_path: Path) -> None:
    """A stack of its own, stopped under a page that stays open. (A single service that exits
    is restarted by `sutra up`, so stopping the stack is how the API goes away for good.)"""
    with run_up(tmp_path, demo=False) as stack:
        page = browser_page.page
        page.goto(stack.client)
        wait_state(page, "empty", "ready")
        stack.process.send_signal(signal.SIGTERM)
        assert stack.process.wait(timeout=60) == 0
        page.fill("#question", QUESTION)
        page.click("#ask-button")
        wait_state(page, "api-down")
        notice = page.inner_text("#notice")
        assert "The Sutra API is unavailable" in notice and "No answer from /api" in notice
        browser_page.screenshot("api-stopped")
    assert browser_page.errors_except("ERR_CONNECTION_REFUSED") == []
