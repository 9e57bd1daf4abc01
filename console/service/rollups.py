"""Reports from rollups: every ticket's contribution to the report's sums, kept up to date by the write that changes
it, so a report reads per-day sums (O(days x groups)) instead of replaying every clock of the period.

A contribution is what one ticket adds to the counters of db/rollups.py COUNTERS (received, closed, resolved or
closed, resolved once, reopened after a resolution, escalated, first contact, unconfirmed closure, knowledge linked,
knowledge captured, satisfaction sum and count, durations known, and each clock's met and settled cycles), keyed by
its creation day in the team's zone, whether its history holds claimed times (backfilled) and its group values. The
clock figures are those the service stores with every change (``ticket_figures``, judged when the ticket last
changed); a running cycle that has fallen due since then is corrected at report time by replaying that ticket.

Medians and 90th percentiles are exact: the durations are counted in buckets per month (EDGES, 4 % wide above a
minute, one second wide below), the rank's bucket is found from those counts (and from the period's first and last
partial months read ticket by ticket), and the value is read from the durations' index inside that one bucket.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from db import rollups as db_rollups
from db.rollups import COUNTERS, GROUP_COLUMNS
from db.vocabulary import DONE_STATUSES

if TYPE_CHECKING:
    from console.service.core import ServiceCore
    from console.service.sla_book import SlaBook

FILL_BATCH = 2000  # tickets per fill transaction: a writer waits at most one batch (~0.1 s)
REFRESH_BATCH = 200  # of which at most this many without stored figures (each replayed first)
DIMS = ("", *GROUP_COLUMNS)
COUNTER_INDEX = {name: i for i, name in enumerate(COUNTERS)}
ZERO = (0,) * len(COUNTERS)
FIRST_DAY = date.min.toordinal()
LAST_DAY = date.max.toordinal()


def _edges() -> tuple[int, ...]:
    """Bucket bounds: every second below a minute, then 4 % apart (241 buckets below a day, 479 below 30 years)."""
    edges = list(range(0, 61))
    while edges[-1] < 2**40:
        edges.append(max(edges[-1] + 1, math.ceil(edges[-1] * 1.04)))
    return tuple(edges)


EDGES = _edges()


def bucket(value: int) -> int:
    """0: below 0 (never, in practice); i: ``[EDGES[i-1], EDGES[i])``; the last one is unbounded above."""
    return bisect_right(EDGES, value)


def bucket_bounds(index: int) -> tuple[int | None, int | None]:
    low = EDGES[index - 1] if index > 0 else None
    high = EDGES[index] if index < len(EDGES) else None
    return low, high


def month_of(day: int) -> int:
    d = date.fromordinal(day)
    return d.year * 12 + d.month - 1


def month_first(month: int) -> int:
    return date(month // 12, month % 12 + 1, 1).toordinal()


def month_last(month: int) -> int:
    return month_first(month + 1) - 1 if month + 1 < 10000 * 12 else LAST_DAY


@dataclass(frozen=True, slots=True)
class Contribution:
    day: int
    backfilled: int
    agent: str
    priority: str
    channel: str
    tier: str
    fr_s: int | None
    rv_s: int | None
    counters: tuple[int, ...]

    def row(self, ticket_id: int) -> tuple[Any, ...]:
        return (
            ticket_id,
            self.day,
            self.backfilled,
            self.agent,
            self.priority,
            self.channel,
            self.tier,
            self.fr_s,
            self.rv_s,
            *self.counters,
        )

    @classmethod
    def stored(cls, row: Sequence[Any]) -> Contribution:
        """From db_rollups.stored's row (``_STORED`` order)."""
        day, backfilled, agent, priority, channel, tier, fr_s, rv_s = row[:8]
        return cls(day, backfilled, agent, priority, channel, tier, fr_s, rv_s, tuple(int(v) for v in row[8:]))

    def sums(self) -> list[tuple[str, str]]:
        """(dim, value) of every sum this ticket is counted in."""
        return [
            ("", ""),
            ("agent", self.agent),
            ("priority", self.priority),
            ("channel", self.channel),
            ("tier", self.tier),
        ]


def contribution(row: Sequence[Any], zone: Any, figures: tuple[Any, ...] | None = None) -> Contribution:
    """One ticket's contribution from db_rollups.inputs' row; ``figures`` replaces the stored clock figures
    (``(fr_s, rv_s, resolved_once, *CLOCK_COLUMNS)``, from a replay)."""
    (
        _id,
        created_at,
        status,
        priority,
        channel,
        tier,
        assignee,
        replies,
        escalations,
        reopens,
        confirmed,
        kb_needed,
        _judged,
        has_figures,
        *rest,
    ) = row
    stored_figures = tuple(rest[:13])
    csat_sum, csat_n, kb_linked, backfilled = rest[13:]
    fr_s, rv_s, resolved_figure, *clocks = figures if figures is not None else stored_figures
    if figures is None and not has_figures:
        fr_s = rv_s = None
        resolved_figure = 0
        clocks = [0] * len(db_rollups.CLOCK_COLUMNS)
    day = datetime.fromisoformat(created_at).astimezone(zone).date().toordinal()
    closed = status == "closed"
    done = status in DONE_STATUSES
    resolved_once = bool(resolved_figure) or done
    counters = (
        1,
        int(closed),
        int(done),
        int(resolved_once),
        int(resolved_once and reopens > 0),
        int(escalations > 0),
        int(closed and replies == 1 and escalations == 0 and reopens == 0),
        int(closed and confirmed is not None and not confirmed),
        int(bool(kb_linked)),
        int(closed and (bool(kb_linked) or bool(kb_needed))),
        int(csat_sum or 0),
        int(csat_n or 0),
        int(fr_s is not None),
        int(rv_s is not None),
        *(int(c or 0) for c in clocks),
    )
    return Contribution(day, int(bool(backfilled)), assignee or "", priority, channel, tier, fr_s, rv_s, counters)


class Deltas:
    """What a batch of changed contributions adds to the day sums and the histograms."""

    def __init__(self) -> None:
        self.days: dict[tuple[str, str, int, int], list[int]] = {}
        self.hist: dict[tuple[str, str, str, int, int, int], int] = defaultdict(int)

    def add(self, c: Contribution, sign: int) -> None:
        month = month_of(c.day)
        for dim, value in c.sums():
            key = (dim, value, c.day, c.backfilled)
            sums = self.days.get(key)
            if sums is None:
                sums = self.days[key] = [0] * len(COUNTERS)
            for i, v in enumerate(c.counters):
                if v:
                    sums[i] += sign * v
            for measure, duration in (("fr", c.fr_s), ("rv", c.rv_s)):
                if duration is not None:
                    self.hist[(measure, dim, value, month, c.backfilled, bucket(duration))] += sign

    def flush(self, store: Any, rows: list[tuple[Any, ...]]) -> None:
        days = {k: v for k, v in self.days.items() if any(v)}
        hist = {k: n for k, n in self.hist.items() if n}
        db_rollups.write(store, rows, days, hist)
        self.days.clear()
        self.hist.clear()


class ReportRollups:
    """Keeps the rollups of one database up to date: ``settle`` is a ServiceCore settler (every write transaction's
    touched tickets), ``fill`` brings a database from before v7 (or whose team zone changed) up to date a batch at a
    time."""

    def __init__(self, core: ServiceCore, sla_book: SlaBook) -> None:
        self.core = core
        self.sla_book = sla_book

    def _zone(self) -> Any:
        """The team's days: the policy's business zone (console.service.reports.team_zone)."""
        return self.sla_book.policy().business_zone()

    def _check_zone(self, zone: Any) -> None:
        """Days are counted in the team zone: when the policy moves it, every contribution is counted again."""
        store = self.core.store
        current = db_rollups.state(store).get("zone")
        if current != str(zone):
            if current is not None:
                db_rollups.clear(store)
            db_rollups.set_state(store, "zone", str(zone))

    def settle(self, touched: list[int]) -> None:
        """In the write transaction: the touched tickets' contributions replace their old ones in the sums."""
        if not touched:
            return
        zone = self._zone()
        self._check_zone(zone)
        self._apply(touched, zone)

    def _apply(self, ids: Sequence[int], zone: Any) -> None:
        store = self.core.store
        judged = 0.0
        for start in range(0, len(ids), db_rollups.CHUNK):
            chunk = ids[start : start + db_rollups.CHUNK]
            old = db_rollups.stored(store, chunk)
            deltas = Deltas()
            rows: list[tuple[Any, ...]] = []
            for row in db_rollups.inputs(store, chunk):
                ticket_id = int(row[0])
                if row[12] is not None:
                    judged = max(judged, float(row[12]))
                new = contribution(row, zone)
                before = old.get(ticket_id)
                previous = Contribution.stored(before) if before is not None else None
                if previous == new:
                    continue
                if previous is not None:
                    deltas.add(previous, -1)
                deltas.add(new, 1)
                rows.append(new.row(ticket_id))
            deltas.flush(store, rows)
        if judged:
            db_rollups.raise_judged(store, judged)

    def fill(self, limit: int = FILL_BATCH) -> int:
        """Contributions for up to ``limit`` tickets that may have none (newest first), in one transaction; tickets
        without stored figures (before schema 6) get them first. Returns how many were done (0: complete)."""
        store = self.core.store
        if store.readonly or self.core.wallboard:
            return 0
        zone = self._zone()
        if db_rollups.state(store).get("zone") != str(zone):
            self.core.write(lambda: self._check_zone(zone))
        through = int(db_rollups.state(store).get("through") or 0)
        if through <= 0:
            return 0
        ids = db_rollups.ids_through(store, through, limit)
        exhausted = len(ids) < limit
        missing = set(db_rollups.ids_without_figures(store, ids))
        if len(missing) > REFRESH_BATCH:
            # a replay per ticket without figures (~1 ms each): fewer of them per transaction, as fill_figures does
            last = sorted(missing, reverse=True)[REFRESH_BATCH - 1]
            ids = [i for i in ids if i >= last]
            missing = {i for i in missing if i >= last}
            exhausted = False

        def work() -> None:
            now = self.core.at(None)
            for ticket_id in sorted(missing):
                self.sla_book.refresh(store.get_ticket(ticket_id), now)
            self._apply(ids, self._zone())
            db_rollups.set_state(store, "through", 0 if exhausted or not ids else min(ids) - 1)

        self.core.write(work)
        return len(ids)

    def complete(self) -> bool:
        state = db_rollups.state(self.core.store)
        return bool(state) and int(state.get("through") or 0) == 0 and state.get("zone") is not None


def fill_rollups(core: ServiceCore, sla_book: SlaBook, limit: int = FILL_BATCH) -> int:
    """One batch of the rollups' fill (the sweeper and `helpdesk sweep` call it until it returns 0)."""
    return ReportRollups(core, sla_book).fill(limit)


def rebuild_rollups(core: ServiceCore, sla_book: SlaBook) -> None:
    """Count every contribution again from scratch (tests compare it with the incremental sums)."""
    rollups = ReportRollups(core, sla_book)
    core.write(lambda: db_rollups.clear(core.store))
    while rollups.fill():
        pass
