"""The metric names a PromQL expression reads, so alert rules can be checked against /metrics.

A small tokenizer, not a full parser: it knows PromQL's functions, aggregations and keywords,
skips label matchers (`{...}`), durations and subquery steps (`[...]`), string literals and the
label lists of `by`/`without`/`on`/`ignoring`/`group_left`/`group_right`, and returns every other
identifier (plus `{__name__="..."}` selectors). A name called like a function that PromQL does
not define is an error: a typo in a function name is caught here rather than by Prometheus.
"""

from __future__ import annotations

import re

_FUNCTION_NAMES = """
    abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp
    clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year
    days_in_month deg delta deriv double_exponential_smoothing exp floor histogram_avg
    histogram_count histogram_fraction histogram_quantile histogram_stddev histogram_stdvar
    histogram_sum holt_winters hour idelta increase info irate label_join label_replace
    last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month pi
    predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh
    sort sort_by_label sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time
    sum_over_time tan tanh time timestamp vector year start end
"""
_AGGREGATION_NAMES = """
    sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio
"""
FUNCTIONS = frozenset(_FUNCTION_NAMES.split())
AGGREGATIONS = frozenset(_AGGREGATION_NAMES.split())
# Keywords followed by a parenthesised list of label names.
LABEL_LISTS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<comment>\#[^\n]*)
    | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
    | (?P<number>(?:0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)(?:[a-zA-Z][a-zA-Z0-9]*)*)
    | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
    | (?P<punct>[(){}\[\],@])
    | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=])
    """,
    re.VERBOSE,
)
_CLOSING = {"(": ")", "{": "}", "[": "]"}


class PromQLError(ValueError):
    """The expression cannot be read (unknown function, unbalanced brackets, stray character)."""


def tokens(expr: str) -> list[tuple[str, str]]:
    """(kind, text) pairs, whitespace and comments dropped."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if match is None:
            raise PromQLError(f"unexpected {expr[pos]!r} at {pos} in {expr!r}")
        kind = match.lastgroup or ""
        if kind not in ("space", "comment"):
            out.append((kind, match.group()))
        pos = match.end()
    return out


def _unquote(literal: str) -> str:
    return literal[1:-1]


def metric_names(expr: str) -> set[str]:
    """Every metric name `expr` selects."""
    toks = tokens(expr)
    names: set[str] = set()
    stack: list[str] = []
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else ("", "")
        inside = stack[-1] if stack else ""
        if kind == "punct" and text in _CLOSING:
            stack.append(text)
        elif kind == "punct" and text in _CLOSING.values():
            if not stack or _CLOSING[stack.pop()] != text:
                raise PromQLError(f"unbalanced {text!r} in {expr!r}")
        elif inside == "{":
            # A label matcher; only `__name__="metric"` names a metric.
            after = toks[i + 2] if i + 2 < len(toks) else ("", "")
            if (
                kind == "ident"
                and text == "__name__"
                and nxt == ("op", "=")
                and after[0] == "string"
            ):
                names.add(_unquote(after[1]))
        elif inside == "[" or kind != "ident":
            pass  # durations and subquery steps; numbers, strings, operators
        elif text in LABEL_LISTS:
            if nxt == ("punct", "("):
                i = _skip_group(toks, i + 1, expr)
        elif text in AGGREGATIONS or text in KEYWORDS:
            pass
        elif nxt == ("punct", "("):
            if text not in FUNCTIONS:
                raise PromQLError(f"unknown function {text}() in {expr!r}")
        else:
            names.add(text)
        i += 1
    if stack:
        raise PromQLError(f"unclosed {stack[-1]!r} in {expr!r}")
    return names


def _skip_group(toks: list[tuple[str, str]], start: int, expr: str) -> int:
    """The index of the `)` closing the `(` at `start`."""
    depth = 0
    for j in range(start, len(toks)):
        if toks[j] == ("punct", "("):
            depth += 1
        elif toks[j] == ("punct", ")"):
            depth -= 1
            if depth == 0:
                return j
    raise PromQLError(f"unclosed label list in {expr!r}")
