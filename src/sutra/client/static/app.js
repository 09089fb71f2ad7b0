// Sutra UI: ask a question, learn a fact, against the public API (POST /reason, POST /learn,
// GET /stats). The API base comes from config.js, which is
// replaced at deploy time. document.body.dataset.state always says what the page shows:
// starting | ready | empty | loading | answered | api-down | rate-limited | error.
"use strict";

(function () {
  const config = window.SUTRA_CONFIG || {};
  const apiBase = String(config.apiBase || "/api").replace(/\/+$/, "");
  const $ = (id) => document.getElementById(id);

  class ApiError extends Error {
    constructor(kind, status, message, retryAfter) {
      super(message);
      this.kind = kind; // "api-down" | "rate-limited" | "error"
      this.status = status;
      this.retryAfter = retryAfter;
    }
  }

  // Retry-After is delay-seconds or an HTTP date.
  function retryAfterSeconds(value) {
    if (!value) return null;
    if (/^\d+$/.test(value.trim())) return Math.max(1, parseInt(value, 10));
    const when = Date.parse(value);
    return isNaN(when) ? null : Math.max(1, Math.ceil((when - Date.now()) / 1000));
  }

  async function api(method, path, body) {
    let response;
    try {
      response = await fetch(apiBase + path, {
        method,
        headers: body === undefined ? { Accept: "application/json" }
          : { "Content-Type": "application/json", Accept: "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError("api-down", 0, `No answer from ${apiBase} (${err.message})`, null);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (response.ok) return data;
    const error = (data && data.error) || {};
    const message = error.message || `HTTP ${response.status} ${response.statusText}`.trim();
    const retry = retryAfterSeconds(response.headers.get("Retry-After"));
    if (response.status === 429) throw new ApiError("rate-limited", 429, message, retry || 1);
    if ([502, 503, 504].includes(response.status)) {
      throw new ApiError("api-down", response.status, message, retry);
    }
    throw new ApiError("error", response.status, message, null);
  }

  // ------------------------------------------------------------------ page states
  let retryTimer = null;
  let knownConcepts = null;

  function setState(state) {
    document.body.dataset.state = state;
  }

  function notice(kind, title, text) {
    const box = $("notice");
    box.dataset.kind = kind;
    $("notice-title").textContent = title;
    $("notice-text").textContent = text;
    box.hidden = false;
    setState(kind);
  }

  function clearNotice() {
    $("notice").hidden = true;
    delete $("notice").dataset.kind;
  }

  function setBusy(busy, text) {
    $("loading").hidden = !busy;
    $("loading-text").textContent = text || "Thinking…";
    for (const id of ["ask-button", "learn-button"]) $(id).disabled = busy || retryTimer !== null;
    if (busy) setState("loading");
  }

  function showEmpty() {
    notice(
      "empty",
      "Nothing learned yet",
      "The knowledge store is empty: teach Sutra a fact below (for example “Smoke causes " +
        "coughing.”), then ask about it."
    );
  }

  function showError(err) {
    if (err.kind === "rate-limited") return showRateLimited(err);
    if (err.kind === "api-down") {
      const when = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : " Try again shortly.";
      return notice("api-down", "The Sutra API is unavailable", `${err.message}.${when}`);
    }
    notice("error", "The request was refused", err.message);
  }

  function showRateLimited(err) {
    let left = err.retryAfter || 1;
    const tick = () => {
      notice(
        "rate-limited",
        "Too many requests",
        `The API is rate limiting this client: retry in ${left} s.`
      );
    };
    if (retryTimer !== null) clearInterval(retryTimer);
    tick();
    retryTimer = setInterval(() => {
      left -= 1;
      if (left > 0) return tick();
      clearInterval(retryTimer);
      retryTimer = null;
      clearNotice();
      setBusy(false);
      setState(knownConcepts === 0 ? "empty" : "ready");
      if (knownConcepts === 0) showEmpty();
    }, 1000);
    setBusy(false);
  }

  function showKnowledge(stats) {
    knownConcepts = stats.concepts;
    $("knowledge").textContent =
      `${stats.concepts} concepts and ${stats.associations} associations learned`;
  }

  async function refreshStats() {
    showKnowledge(await api("GET", "/stats"));
    return knownConcepts;
  }

  // ------------------------------------------------------------------ reasoning
  function renderAnswer(result) {
    $("answer").hidden = false;
    const answered = Boolean(result.answer);
    $("answer-text").textContent = answered
      ? result.answer
      : "No answer: nothing learned matches the question.";
    $("answer-text").classList.toggle("none", !answered);
    $("confidence-meter").value = result.confidence;
    $("confidence-value").textContent = result.confidence.toFixed(2);
    const b = result.confidence_breakdown;
    $("breakdown").textContent = `graph ${b.graph.toFixed(2)} · semantic ${b.semantic.toFixed(2)}`;
    $("explanation").textContent = result.explanation;
    const list = $("paths");
    list.textContent = "";
    $("graph").textContent = "";
    $("paths-block").hidden = result.paths.length === 0;
    for (const path of result.paths) {
      const item = document.createElement("li");
      item.textContent =
        `${path.concepts.join(" → ")} (confidence ${path.confidence.toFixed(2)})` +
        (path.explanation ? `: ${path.explanation}` : "");
      list.appendChild(item);
    }
  }

  async function ask(query) {
    clearNotice();
    setBusy(true, "Thinking…");
    try {
      const result = await api("POST", "/reason", { query });
      renderAnswer(result);
      if (result.paths.length) {
        // Each path carries its edges (type and the stored association's confidence).
        window.SutraGraph.draw($("graph"), result.paths, result.answer);
      }
      setBusy(false);
      if (!result.answer && knownConcepts === 0) showEmpty();
      else setState("answered");
    } catch (err) {
      setBusy(false);
      showError(err);
    }
  }

  async function learn(content) {
    clearNotice();
    setBusy(true, "Learning…");
    const result = $("learn-result");
    result.hidden = true;
    try {
      const learned = await api("POST", "/learn", { content });
      result.textContent =
        `Learned: ${learned.concepts_created} new concepts, ` +
        `${learned.associations_created} associations.`;
      result.classList.remove("bad");
      result.hidden = false;
      $("fact").value = "";
      setBusy(false);
      setState("ready");
      refreshStats().catch(() => undefined);
    } catch (err) {
      setBusy(false);
      showError(err);
    }
  }

  function start() {
    $("api-base").textContent = `API: ${apiBase}`;
    $("ask-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const query = $("question").value.trim();
      if (query) ask(query);
    });
    $("learn-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const content = $("fact").value.trim();
      if (content) learn(content);
    });
    setBusy(true, "Connecting…");
    refreshStats().then(
      (concepts) => {
        setBusy(false);
        if (concepts === 0) showEmpty();
        else setState("ready");
      },
      (err) => {
        setBusy(false);
        showError(err);
      }
    );
  }

  start();
})();
