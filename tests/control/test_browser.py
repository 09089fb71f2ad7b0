"""The dashboard in a real browser (Debian's headless Chromium via Playwright) against the stack
as `make run` starts it: log in, watch it update, see a learn arrive, walk the graph."""

from __future__ import annotations

import uuid

import httpx

from .support import TOKEN, UpStack

EXPECTED_401 = "status of 401"  # the browser logs the refused request it was made to send


def number(page, selector: str) -> float:
    return float(page.locator(selector).get_attribute("data-value") or "nan")


def test_the_dashboard_logs_in_updates_live_and_counts_a_learn(
    browser_page, stack: UpStack
) -> None:
    page = browser_page.page
    page.goto(stack.control + "/")
    page.locator("#login").wait_for(state="visible")
    browser_page.screenshot("login")

    page.fill("#token", TOKEN)
    page.click("#login-form button[type=submit]")
    page.locator("#dashboard").wait_for(state="visible")
    # A push arrives over the WebSocket: the update counter moves, the tiles fill in.
    page.wait_for_function("() => Number(document.getElementById('updated').dataset.count) >= 2")
    assert page.locator("#connection").inner_text() == "live"
    for name in ("storage-server", "sutra-hybrid", "sutra-api"):
        page.wait_for_function(
            f"() => document.getElementById('tile-{name}').classList.contains('up')"
        )
    page.wait_for_function("() => document.getElementById('storage-concepts').dataset.value !== ''")
    before = number(page, "#storage-concepts")
    assert before >= 50  # the demo knowledge
    seen = int(page.locator("#updated").get_attribute("data-count") or 0)

    fact = f"Sample {uuid.uuid4().hex[:8]} causes test {uuid.uuid4().hex[:8]}."
    reply = httpx.post(stack.api + "/learn", json={"content": fact}, timeout=30)
    assert reply.status_code == 201, reply.text
    page.wait_for_function(
        f"() => Number(document.getElementById('storage-concepts').dataset.value) > {before}"
    )
    assert number(page, "#storage-concepts") >= before + 3
    assert int(page.locator("#updated").get_attribute("data-count") or 0) > seen
    assert page.locator("#charts canvas").count() == 6
    # Let the charts gather a few points before the picture.
    page.wait_for_function(
        f"() => Number(document.getElementById('updated').dataset.count) > {seen + 3}"
    )
    browser_page.screenshot("dashboard")
    assert browser_page.console_errors == []


def test_the_graph_view_finds_a_concept_and_walks_outward(browser_page, stack: UpStack) -> None:
    page = browser_page.page
    page.goto(stack.control + "/")
    page.fill("#token", TOKEN)
    page.click("#login-form button[type=submit]")
    page.locator("#dashboard").wait_for(state="visible")
    page.click("#nav-graph")
    page.locator("#graph").wait_for(state="visible")
    assert page.locator("#dashboard").is_hidden()

    page.fill("#graph-query", "heart")
    page.click("#graph-search button[type=submit]")
    page.locator("#graph-results li").first.wait_for()
    page.locator("#graph-results li", has_text="heart").first.click()
    page.locator("#neighbors tbody tr").first.wait_for()
    assert page.locator("#concept-content").inner_text() == "heart"
    assert page.locator("#graph-svg g.node").count() >= 2
    types = set(page.locator("#neighbors td.type").all_inner_texts())
    assert types and types <= {"semantic", "causal", "temporal", "hierarchical", "compositional"}
    browser_page.screenshot("graph-heart")

    neighbour = page.locator("#neighbors tbody tr a").first
    target = neighbour.inner_text()
    neighbour.click()
    page.wait_for_function(
        "() => document.getElementById('concept-content').textContent !== 'heart'"
    )
    assert page.locator("#graph-trail a").count() == 2  # heart -> the neighbour
    if not target.endswith("\u2026"):
        assert page.locator("#concept-content").inner_text() == target
    browser_page.screenshot("graph-walked")
    assert browser_page.console_errors == []


def test_a_wrong_token_is_refused(browser_page, stack: UpStack) -> None:
    page = browser_page.page
    page.goto(stack.control + "/")
    page.fill("#token", "wrong-token-0123456789abcdef")
    page.click("#login-form button[type=submit]")
    error = page.locator("#login-error")
    error.wait_for(state="visible")
    assert "refused" in error.inner_text().lower()
    assert page.locator("#dashboard").is_hidden()
    assert page.locator("#updated").get_attribute("data-count") == "0"  # no push arrived
    assert page.evaluate("sessionStorage.getItem('sutra-control-token')") is None
    browser_page.screenshot("refused")
    assert browser_page.console_errors  # the refusal was seen by the browser...
    assert browser_page.errors_except(EXPECTED_401) == []  # ...and nothing else went wrong
