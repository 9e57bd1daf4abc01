"""SLA engine benchmark (run by hand: `python -m tests.bench.sla`; not part of the test suite).

Computes the four clocks of 100,000 synthetic open tickets at one instant (mixed priorities, channels,
customer tiers and calendars, a few facts each) and answers 20,000 `sla due` requests. Prints JSON with
the median of three runs.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from console.rules.policy import Policy, default_policy_toml, load_policy_toml
from console.rules.sla import Fact, compute_clocks
from console.rules.sla_due import run_due

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 9, 10, 17, tzinfo=SHANGHAI)  # just after National Day: holidays in every history
TICKETS = 100_000
DUE_REQUESTS = 20_000
RUNS = 3

# The shipped priorities, with custom calendars, a channel and a customer tier overriding them.
POLICY_TOML = (
    default_policy_toml()
    + """
[calendars.lunch]
tz = "Asia/Shanghai"
workdays = ["2026-09-20", "2026-10-10"]
holidays = ["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"]
[calendars.lunch.weekly]
mon = [["09:00", "12:00"], ["13:30", "18:00"]]
tue = [["09:00", "12:00"], ["13:30", "18:00"]]
wed = [["09:00", "12:00"], ["13:30", "18:00"]]
thu = [["09:00", "12:00"], ["13:30", "18:00"]]
fri = [["09:00", "12:00"], ["13:30", "18:00"]]

[calendars.newyork]
tz = "America/New_York"
[calendars.newyork.weekly]
mon = [["08:00", "20:00"]]
tue = [["08:00", "20:00"]]
wed = [["08:00", "20:00"]]
thu = [["08:00", "20:00"]]
fri = [["08:00", "20:00"]]
sat = [["10:00", "16:00"]]

[channels.phone]
calendar = "lunch"

[tiers.gold]
calendar = "newyork"
[tiers.gold.P1]
calendar = "24x7"
first_response = 15
"""
)


def synthetic_tickets(rng: random.Random) -> list[tuple[str, str, str, list[Fact]]]:
    tickets = []
    channels = ("phone", "email", "chat", "web", "onsite")
    tiers = ("standard", "standard", "standard", "gold")
    for _ in range(TICKETS):
        priority = rng.choice(("P1", "P2", "P2", "P3", "P3", "P3", "P4"))
        created = NOW - timedelta(minutes=rng.randint(5, 60 * 24 * 21))
        facts = [Fact(created, "created")]
        t = created
        for _step in range(rng.randint(0, 5)):
            t += timedelta(minutes=rng.randint(1, 60 * 30))
            if t >= NOW:
                break
            kind = rng.random()
            if kind < 0.4:
                facts.append(Fact(t, "reply"))
            elif kind < 0.6:
                facts.append(Fact(t, "customer"))
            elif kind < 0.8:
                facts.append(Fact(t, "status", "pending"))
                t += timedelta(minutes=rng.randint(1, 60 * 24))
                if t < NOW:
                    facts.append(Fact(t, "status", "open"))
                    facts.append(Fact(t, "customer"))
            else:
                facts.append(Fact(t, "status", "restored"))
        tickets.append((priority, rng.choice(channels), rng.choice(tiers), facts))
    return tickets


def bench_clocks(policy: Policy, tickets: list[tuple[str, str, str, list[Fact]]]) -> float:
    started = time.perf_counter()
    for priority, channel, tier, facts in tickets:
        calendar, targets = policy.resolve(priority, channel, tier)
        compute_clocks(facts, targets, calendar, NOW)
    return time.perf_counter() - started


def due_requests(rng: random.Random) -> list[str]:
    lunch = {
        "tz": "Asia/Shanghai",
        "weekly": {d: [["09:00", "12:00"], ["13:30", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-10-01"],
        "workdays": ["2026-09-20"],
    }
    days = ("mon", "tue", "wed", "thu")
    berlin = {"tz": "Europe/Berlin", "weekly": {d: [["00:00", "24:00"]] for d in days}}
    calendars: list[object] = ["24x7", "cn-business", lunch, berlin]
    lines = []
    for _ in range(DUE_REQUESTS):
        start = NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 60))
        request: dict[str, object] = {
            "calendar": rng.choice(calendars),
            "start": start.isoformat(),
            "minutes": rng.choice((15, 30, 60, 120, 240, 480, 1440, 4800)),
        }
        if rng.random() < 0.2:
            p_start = start + timedelta(minutes=rng.randint(0, 600))
            request["pauses"] = [[p_start.isoformat(), (p_start + timedelta(minutes=90)).isoformat()]]
        lines.append(json.dumps(request))
    return lines


def main() -> None:
    rng = random.Random(20260930)
    policy = load_policy_toml(POLICY_TOML)
    tickets = synthetic_tickets(rng)
    clock_runs = [bench_clocks(policy, tickets) for _ in range(RUNS)]
    lines = due_requests(rng)
    due_runs = []
    for _ in range(RUNS):
        started = time.perf_counter()
        any_error = any([answer.error for answer in run_due(lines)])
        due_runs.append(time.perf_counter() - started)
        if any_error:
            raise SystemExit("sla due benchmark produced errors")
    clocks_s = statistics.median(clock_runs)
    due_s = statistics.median(due_runs)
    result = {
        "python": sys.version.split()[0],
        "tickets": TICKETS,
        "clocks_per_ticket": 4,
        "clocks_total_s": round(clocks_s, 3),
        "tickets_per_s": round(TICKETS / clocks_s),
        "clocks_runs_s": [round(r, 3) for r in clock_runs],
        "sla_due_requests": DUE_REQUESTS,
        "sla_due_total_s": round(due_s, 3),
        "sla_due_requests_per_s": round(DUE_REQUESTS / due_s),
        "sla_due_runs_s": [round(r, 3) for r in due_runs],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
