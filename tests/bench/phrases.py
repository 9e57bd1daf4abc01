"""Phrase-guard figures (run by hand: `python -m tests.bench.phrases`; never pass/fail).

Scores the default rules on the labelled replies in tests/data/phrase_replies.jsonl and times the guard.
Prints JSON: per language the set's size, precision/recall/F1 at the reply level (a reply is flagged or not)
and per rule id (the set of rule ids hit in a reply against the expected set), the misses and false alarms,
the latency of `check` on one reply (p50/p95 over every reply of the set, best of a few rounds) and on a
long reply, and how long loading the rules takes (the patterns are expanded and indexed at load).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.rules import phrases
from console.rules.phrases import LANGS, PhraseRules, check, default_rules_toml

DATA = Path(__file__).resolve().parent.parent / "data" / "phrase_replies.jsonl"
ROUNDS = 5


@dataclass(frozen=True)
class Reply:
    lang: str
    text: str
    expected: frozenset[str]


def load_replies(path: Path = DATA) -> list[Reply]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            rows.append(Reply(data["lang"], data["text"], frozenset(data["expected"])))
    return rows


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def score(replies: Iterable[Reply], rules: PhraseRules, lang: str) -> dict[str, Any]:
    """Reply-level and rule-level figures for ``lang``, with the replies that were got wrong."""
    n = positives = 0
    reply = [0, 0, 0]  # tp, fp, fn
    rule = [0, 0, 0]
    wrong: list[dict[str, Any]] = []
    for item in replies:
        if item.lang != lang:
            continue
        n += 1
        positives += bool(item.expected)
        found = {hit.rule_id for hit in check(item.text, rules, lang)}
        if found and item.expected:
            reply[0] += 1
        elif found:
            reply[1] += 1
        elif item.expected:
            reply[2] += 1
        rule[0] += len(found & item.expected)
        rule[1] += len(found - item.expected)
        rule[2] += len(item.expected - found)
        if found != item.expected:
            wrong.append({"text": item.text, "expected": sorted(item.expected), "found": sorted(found)})
    return {
        "n": n,
        "positives": positives,
        "negatives": n - positives,
        "reply": _prf(*reply),
        "rule": _prf(*rule),
        "wrong": wrong,
    }


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(texts: Sequence[str], rules: PhraseRules, lang: str | None) -> dict[str, float]:
    """p50/p95 of one `check` per text in microseconds, each text's best of `ROUNDS`."""
    best = [float("inf")] * len(texts)
    for _ in range(ROUNDS):
        for i, text in enumerate(texts):
            start = time.perf_counter()
            check(text, rules, lang)
            best[i] = min(best[i], time.perf_counter() - start)
    micros = [b * 1e6 for b in best]
    return {"p50_us": round(_percentile(micros, 0.5), 1), "p95_us": round(_percentile(micros, 0.95), 1)}


def main() -> int:
    toml = default_rules_toml()
    loads = []
    for _ in range(ROUNDS):
        # A cold load: parsed rules and tokenized patterns are cached by text inside the module.
        for cache in (phrases._parsed, phrases._phrase_tokens, phrases.expand):
            cache.cache_clear()
        start = time.perf_counter()
        rules = PhraseRules.from_toml(toml)
        loads.append(time.perf_counter() - start)
    replies = load_replies()
    out: dict[str, Any] = {
        "rules": len(rules.rules),
        "patterns": sum(len(r.phrases) for r in rules.rules),
        "plain_phrases": sum(len(r.forms()) for r in rules.rules),
        "load_ms_cold": round(statistics.median(loads) * 1000, 1),
        "languages": {},
    }
    for lang in LANGS:
        texts = [r.text for r in replies if r.lang == lang]
        figures = score(replies, rules, lang)
        long_reply = "\n".join(texts)
        figures["latency"] = latency(texts, rules, lang)
        figures["latency_long"] = {"chars": len(long_reply), **latency([long_reply], rules, lang)}
        figures["latency_all_languages"] = latency(texts, rules, None)
        out["languages"][lang] = figures
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
