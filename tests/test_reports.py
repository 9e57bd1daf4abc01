"""Service-quality reports: each metric on hand-built histories, checked to the second; periods; groups; the
bulk history fetch against the per-ticket one; CSV and JSON round trips; the `helpdesk report` command."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from console.present import report_text
from console.rules import metrics, sla
from console.rules.calendars import get_calendar
from console.rules.errors import BadInput
from console.service import reports
from console.service.helpdesk import HelpdeskService
from console.service.ticket_view import facts_from_events
from db import reports as db_reports
from tests.conftest import Result

Team = Callable[[str], HelpdeskService]
SH = ZoneInfo("Asia/Shanghai")
MON = date(2026, 3, 2)
NOW = datetime(2026, 3, 4, 9, 0, tzinfo=SH)  # Wednesday 09:00 in Shanghai


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in Shanghai in the week of Monday 2 March 2026 (no holidays that week)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=SH)


def seed(team: Team) -> dict[str, int]:
    """Five tickets with known business-time histories (cn-business: Mon-Fri 09:00-18:00 Shanghai).

    A  P3  Mon 09:00 created, 09:10 reply, 09:20 resolved, 09:25 closed confirmed; CSAT 5.
    B  P3  Mon 10:00 created, 13:00 reply, pending 13:30-14:30, 15:00 reply, 16:00 resolved; customer reopens
           Tue 10:00, resolved 11:00, closed 11:30 unconfirmed; CSAT 3.
    C  P2  Mon 17:00 created, escalated 17:30 to L2 with the handover notice (a public reply: the first response),
           kai takes it Tue 09:55 and replies 10:01; still open.
    D  P1  (24x7) Mon 12:00 created, never touched.
    E  P4  Tue 18:30 created (after hours), never touched.
    """
    li, kai = team("li.wei"), team("kai")
    a = li.create_ticket("Printer jams", customer="Ann Lee", email="ann@example.test", at=sh(2, 9))
    li.assign(a.id, at=sh(2, 9, 5))
    li.reply(a.id, "Use tray 2", at=sh(2, 9, 10))
    li.resolve(a.id, "tray swapped", at=sh(2, 9, 20))
    li.close(
        a.id, summary="tray swapped", confirmed=True, confirmed_by="phone", asked_anything_else=True, at=sh(2, 9, 25)
    )

    b = li.create_ticket("Mail sync", customer="Globex", email="ops@globex.test", at=sh(2, 10))
    li.assign(b.id, at=sh(2, 10, 5))
    li.reply(b.id, "Rebuilding the profile", at=sh(2, 13))
    li.pending(b.id, at=sh(2, 13, 30))
    li.resume(b.id, at=sh(2, 14, 30))
    li.reply(b.id, "Try now", at=sh(2, 15))
    li.resolve(b.id, "profile rebuilt", at=sh(2, 16))
    li.customer_reply(b.id, "Still failing", at=sh(3, 10))
    li.resolve(b.id, "cache cleared", at=sh(3, 11))
    li.close(b.id, summary="cache cleared", unconfirmed_reason="unreachable", at=sh(3, 11, 30))

    c = li.create_ticket("VPN drops", customer="Ann Lee", email="ann@example.test", priority="P2", at=sh(2, 17))
    li.escalate(
        c.id,
        "L2",
        "network team",
        "drops hourly",
        tried="client reinstalled",
        impact="one user, works offline",
        notice="Our network team takes over and will call you tomorrow morning.",
        at=sh(2, 17, 30),
    )
    kai.assign(c.id, at=sh(3, 9, 55))
    kai.reply(c.id, "Looking at the tunnel", at=sh(3, 10, 1))

    d = li.create_ticket("Server down", customer="Initech", priority="P1", at=sh(2, 12))
    e = li.create_ticket("Password reset", priority="P4", at=sh(3, 18, 30))

    reports.record_csat(li, a.id, 5, "quick", at=sh(2, 9, 30))
    reports.record_csat(li, b.id, 3, at=sh(3, 12))
    return {"A": a.id, "B": b.id, "C": c.id, "D": d.id, "E": e.id}


@pytest.fixture
def week(team: Team) -> tuple[HelpdeskService, dict[str, int]]:
    ids = seed(team)
    return team("sue"), ids


def build(
    service: HelpdeskService, by: str | None = None, first: date = MON, last: date = MON + timedelta(1)
) -> reports.Report:
    return reports.build_report(service, reports.make_period(first, last), by, NOW)


def figures(service: HelpdeskService) -> dict[int, reports.TicketFigures]:
    period = reports.make_period(MON, MON + timedelta(days=1))
    return {f.id: f for f in reports.collect(service, period, NOW.astimezone(UTC))}


# -- per-ticket figures ----------------------------------------------------------------------------------


def test_each_ticket_clocks_to_the_second(week: tuple[HelpdeskService, dict[str, int]]) -> None:
    service, ids = week
    f = figures(service)
    a, b, c, d, e = (f[ids[k]] for k in "ABCDE")
    assert (a.first_response_s, a.resolution_s) == (600, 1200)
    # B: 10:00 -> 13:00; resolution 10:00-16:00 less the pending hour, plus Tue 10:00-11:00 after the reopen.
    assert (b.first_response_s, b.resolution_s) == (3 * 3600, 6 * 3600)
    # C: the handover notice at Mon 17:30 answered it; not resolved.
    assert (c.first_response_s, c.resolution_s) == (1800, None)
    assert (d.first_response_s, d.resolution_s) == (None, None)
    assert (e.first_response_s, e.resolution_s) == (None, None)
    assert b.sla["next_update"] == metrics.Attainment(3, 3)  # reply->reply, reply->resolved, reopen->resolved
    assert c.sla["first_response"] == metrics.Attainment(1, 1)  # 30 min against 120
    # notice Mon 17:30 -> kai Tue 10:01 (91 business minutes, met); from 10:01 none since (overdue)
    assert c.sla["next_update"] == metrics.Attainment(1, 2)
    assert d.sla["resolve"] == metrics.Attainment(0, 1)  # 24x7: due Tuesday 12:00, still open
    assert c.sla["resolve"] == metrics.Attainment(0, 0)  # 10 of 24 business hours: not settled
    assert e.sla["first_response"] == metrics.Attainment(0, 0)  # created after hours: nothing counted yet
    assert (a.resolved_once, b.resolved_once, c.resolved_once) == (True, True, False)
    assert (a.csat, b.csat, c.csat) == ((5,), (3,), ())


def test_bulk_history_gives_the_same_facts_as_the_ticket_history(week: tuple[HelpdeskService, dict[str, int]]) -> None:
    service, ids = week
    events = db_reports.period_clock_events(service.store, None, None)
    for ticket_id in ids.values():
        bulk = reports.facts_from_clock_events(e for e in events if e.ticket_id == ticket_id)
        assert bulk == facts_from_events(service.store.events(ticket_id))


# -- each metric ------------------------------------------------------------------------------------------


def test_volume_and_closures(week: tuple[HelpdeskService, dict[str, int]]) -> None:
    figs = list(figures(week[0]).values())
    assert reports.tickets_received(figs) == 5
    assert reports.tickets_closed(figs) == 2
    assert reports.unconfirmed_closures(figs) == 1  # B


def test_time_medians_and_p90(week: tuple[HelpdeskService, dict[str, int]]) -> None:
    figs = list(figures(week[0]).values())
    # first responses 600, 1800, 10800: median the middle one, p90 the 3rd of 3 (nearest rank)
    assert reports.first_response_median(figs) == 1800
    assert reports.first_response_p90(figs) == 10800
    # resolutions 1200 and 21600: an even count's median is the mean of the two middle values
    assert reports.resolution_median(figs) == (1200 + 21600) / 2
    assert reports.resolution_p90(figs) == 21600
    assert reports.first_response_median([]) is None


def test_sla_attainment_per_clock(week: tuple[HelpdeskService, dict[str, int]]) -> None:
    figs = list(figures(week[0]).values())
    assert reports.sla_attainment(figs, "first_response") == metrics.Attainment(3, 4)  # A, B, C met; D late
    assert reports.sla_attainment(figs, "next_update") == metrics.Attainment(5, 6)  # C's second update overdue
    assert reports.sla_attainment(figs, "restore") == metrics.Attainment(0, 2)  # only P1/P2 have a target
    assert reports.sla_attainment(figs, "resolve") == metrics.Attainment(2, 3)  # D overdue, C still running
    assert reports.sla_attainment([], "resolve").rate is None


def test_rates(week: tuple[HelpdeskService, dict[str, int]]) -> None:
    figs = list(figures(week[0]).values())
    assert reports.resolution_rate(figs) == 2 / 5
    assert reports.fcr_rate(figs) == 1 / 2  # A: one reply; B was reopened
    assert reports.escalation_rate(figs) == 1 / 5
    assert reports.reopen_rate(figs) == 1 / 2  # of A and B, resolved at least once
    assert reports.resolution_rate([]) is None


def test_satisfaction(week: tuple[HelpdeskService, dict[str, int]]) -> None:
    figs = list(figures(week[0]).values())
    assert reports.csat(figs) == (4.0, 2)
    assert reports.csat([]) == (None, 0)


def test_backlog_by_age(week: tuple[HelpdeskService, dict[str, int]]) -> None:
    figs = list(figures(week[0]).values())
    # C 40 h and D 45 h old, E 14.5 h old
    assert reports.backlog_by_age(figs, NOW) == {"lt_1d": 1, "1d_3d": 2, "3d_7d": 0, "7d_30d": 0, "ge_30d": 0}
    exactly_a_day = reports.TicketFigures(id=9, created_at=NOW - timedelta(days=1), status="open")
    assert reports.backlog_by_age([exactly_a_day], NOW)["1d_3d"] == 1  # an upper bound is excluded


def test_pure_clock_figures_without_a_database() -> None:
    cal = get_calendar("cn-business")
    targets = sla.Targets(first_response=60, next_update=None, restore=None, resolve=480)
    facts = [
        sla.Fact(sh(2, 17, 30), "created"),
        sla.Fact(sh(3, 9, 15), "reply"),
        sla.Fact(sh(3, 10), "status", "resolved"),
        sla.Fact(sh(3, 11), "status", "open"),  # reopened: the hour in between does not count
        sla.Fact(sh(3, 12), "status", "closed"),
    ]
    first, resolution, attained, resolved_once = reports.clock_figures(facts, targets, cal, NOW)
    assert (first, resolution, resolved_once) == (45 * 60, (30 + 60 + 60) * 60, True)
    assert attained["first_response"] == metrics.Attainment(1, 1)
    assert reports.clock_figures([], targets, cal, NOW) == (None, None, {}, False)


# -- the whole report -------------------------------------------------------------------------------------


def test_report_json_fields(week: tuple[HelpdeskService, dict[str, int]]) -> None:
    data = build(week[0]).as_json()
    assert isinstance(data, dict)
    assert data["tickets"] == 5 and data["closed"] == 2
    assert data["first_response_median_s"] == 1800 and data["first_response_p90_s"] == 10800
    assert data["resolution_median_s"] == 11400 and data["resolution_p90_s"] == 21600
    assert data["sla_attainment"] == {
        "first_response": 0.75,
        "next_update": 5 / 6,
        "restore": 0.0,
        "resolve": 2 / 3,
        "onsite": None,  # no engineer was dispatched
    }
    assert data["sla_cycles"]["next_update"] == {"met": 5, "total": 6}
    assert (data["fcr_rate"], data["escalation_rate"], data["reopen_rate"]) == (0.5, 0.2, 0.5)
    assert (data["resolution_rate"], data["unconfirmed_closures"]) == (0.4, 1)
    assert (data["csat_avg"], data["csat_count"]) == (4.0, 2)
    assert data["backlog_by_age"]["1d_3d"] == 2
    assert data["period"] == {
        "from": "2026-03-02",
        "to": "2026-03-03",
        "zone": "Asia/Shanghai",
        "now": "2026-03-04T01:00:00+00:00",
    }
    assert [(d["date"], d["tickets"], d["closed"]) for d in data["daily"]] == [
        ("2026-03-02", 4, 2),
        ("2026-03-03", 1, 0),
    ]
    assert data["daily"][1]["sla_attainment"] is None  # E: nothing settled yet


def test_group_by_agent_priority_and_customer(week: tuple[HelpdeskService, dict[str, int]]) -> None:
    service, _ids = week
    by_agent = build(service, "agent").as_json()
    assert isinstance(by_agent, list)
    assert [(g["group"], g["tickets"]) for g in by_agent] == [("kai", 1), ("li.wei", 2), (None, 2)]
    assert by_agent[1]["fcr_rate"] == 0.5 and by_agent[1]["csat_avg"] == 4.0
    by_priority = build(service, "priority").as_json()
    assert isinstance(by_priority, list)
    assert [(g["group"], g["tickets"]) for g in by_priority] == [("P1", 1), ("P2", 1), ("P3", 2), ("P4", 1)]
    assert by_priority[2]["resolution_median_s"] == 11400
    by_customer = build(service, "customer").as_json()
    assert isinstance(by_customer, list)
    assert [(g["group"], g["tickets"]) for g in by_customer] == [
        ("Ann Lee", 2),
        ("Globex", 1),
        ("Initech", 1),
        (None, 1),
    ]
    with pytest.raises(BadInput):
        build(service, "colour")


def test_customers_sharing_a_name_are_told_apart(team: Team) -> None:
    li = team("li.wei")
    one = li.create_ticket("a", customer="Wang Wei", email="w1@example.test", at=sh(2, 9))
    two = li.create_ticket("b", customer="Wang Wei", email="w2@example.test", at=sh(2, 9))
    rows = build(team("sue"), "customer").as_json()
    assert isinstance(rows, list)
    assert sorted(g["group"] for g in rows) == [f"Wang Wei #{one.customer_id}", f"Wang Wei #{two.customer_id}"]


def test_period_selects_by_local_creation_day(team: Team) -> None:
    li = team("li.wei")
    for at in ("2026-03-01T15:59:59", "2026-03-01T16:00:00", "2026-03-03T15:59:59", "2026-03-03T16:00:00"):
        li.create_ticket(at, at=datetime.fromisoformat(at).replace(tzinfo=UTC))
    sue = team("sue")
    shanghai = reports.build_report(sue, reports.make_period(MON, MON + timedelta(days=1)), None, NOW)
    assert shanghai.total.tickets == 2  # Monday 00:00:00 and Tuesday 23:59:59 in Shanghai
    sunday = MON - timedelta(days=1)
    utc = reports.make_period(sunday, sunday, reports.zone_named("UTC"))
    assert reports.build_report(sue, utc, None, NOW).total.tickets == 2  # 15:59:59 and 16:00:00 of 1 March UTC
    assert reports.build_report(sue, reports.make_period(None, None), None, NOW).total.tickets == 4
    with pytest.raises(BadInput):
        reports.make_period(MON, MON - timedelta(days=1))
    with pytest.raises(BadInput):
        reports.zone_named("Mars/Olympus")


def test_empty_period(team: Team) -> None:
    report = build(team("sue"))
    data = report.as_json()
    assert isinstance(data, dict)
    assert data["tickets"] == 0 and data["fcr_rate"] is None and data["first_response_median_s"] is None
    assert [d["tickets"] for d in data["daily"]] == [0, 0]


def test_knowledge_linked_and_captured(team: Team) -> None:
    sue = team("sue")
    article = sue.add_article("Printer offline", "Restart the spooler.")
    one = sue.create_ticket("Printer offline", customer="Acme").id
    two = sue.create_ticket("Scanner jams", customer="Acme").id
    sue.create_ticket("VPN drops", customer="Acme")  # stays open
    sue.link_article(one, article.id)
    for tid, fix in ((one, "spooler restarted"), (two, "rollers cleaned")):
        sue.reply(tid, f"Fixed: {fix}. Please try again.")
        sue.resolve(tid, fix)
    sue.close(
        one,
        summary="spooler restarted",
        confirmed=True,
        confirmed_by="chat",
        asked_anything_else=True,
        kb_id=article.id,
    )
    sue.close(
        two, summary="rollers cleaned", confirmed=True, confirmed_by="email", asked_anything_else=True, kb_needed=True
    )
    data = build(sue).as_json()
    assert isinstance(data, dict)
    assert data["kb_linked"] == 1  # only the first has an article linked
    assert data["kb_capture_rate"] == 1.0  # both closed tickets linked or asked for an article


# -- CSV and JSON ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("by", [None, "agent", "customer"])
def test_csv_and_json_round_trip(week: tuple[HelpdeskService, dict[str, int]], by: str | None) -> None:
    report = build(week[0], by)
    rows = [row.as_json(grouped=bool(by)) for row in report.rows()]
    assert json.loads(json.dumps(rows)) == rows
    text = report_text.report_csv(report)
    assert report_text.from_csv(text) == rows
    assert report_text.to_csv(report_text.from_csv(text)) == text
    header = text.splitlines()[0].split(",")
    assert ("group" in header) == bool(by)
    assert "sla_attainment.next_update" in header and "backlog_by_age.ge_30d" in header


def test_csv_of_an_empty_grouped_report(team: Team) -> None:
    report = build(team("sue"), "agent")
    text = report_text.report_csv(report)
    assert text.splitlines()[0].startswith("group,tickets,closed,")
    assert len(text.splitlines()) == 1 and report_text.from_csv(text) == []


def test_csv_keeps_spreadsheets_from_running_a_customer_name() -> None:
    rows = [{"group": name, "tickets": 1} for name in ("=HYPERLINK(1)", "'quoted", "-x", "plain")]
    text = report_text.to_csv(rows)
    assert "'=HYPERLINK(1)" in text and "''quoted" in text
    assert report_text.from_csv(text) == rows


def test_table_for_people(week: tuple[HelpdeskService, dict[str, int]]) -> None:
    headers, rows = report_text.table(build(week[0], "agent"))
    assert headers == ["Figure", "All", "kai", "li.wei", "unassigned"]
    by_label = {r[0]: r[1:] for r in rows}
    assert by_label["First response, median"][0] == "0:30:00"
    assert by_label["SLA met: proactive updates"][0] == "83.3% (5/6)"
    assert by_label["Satisfaction (1-5)"] == ["4.00", "—", "4.00", "—"]


# -- the command --------------------------------------------------------------------------------------------


def test_report_command(team: Team, cli: Callable[..., Result]) -> None:
    seed(team)
    now = NOW.astimezone(UTC).isoformat()
    res = cli("report", "--from", "2026-03-02", "--to", "2026-03-03", "--now", now, "--json")
    assert res.code == 0, res.err
    data = res.json()
    assert data["tickets"] == 5 and data["sla_attainment"]["next_update"] == 5 / 6
    res = cli("report", "--from", "2026-03-02", "--to", "2026-03-03", "--now", now, "--by", "tier", "--csv")
    assert res.code == 0
    rows = report_text.from_csv(res.out)
    assert [(r["group"], r["tickets"]) for r in rows] == [("L1", 4), ("L2", 1)]
    res = cli("report", "--now", now)
    assert res.code == 0 and "Tickets received" in res.out and "0:30:00" in res.out
    assert cli("report", "--json", "--csv").code == 2
    assert cli("report", "--from", "March").code == 2
    assert cli("report", "--by", "colour").code == 2
    assert cli("report", "--tz", "Mars/Olympus").code == 2
