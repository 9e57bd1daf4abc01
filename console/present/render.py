"""Turning service records into the CLI's JSON shapes and human text (language-neutral JSON, translated text)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from console.i18n import N_, _
from console.rules.clock import local_text, zone_label
from console.rules.workflow import PRIORITY_LABELS, STATUS_LABELS
from console.service.ticket_view import ClockView, TicketDetail, describe_event, provenance
from db.models import QueueItem
from db.vocabulary import PRIORITIES

CLOCK_LABELS = {
    "first_response": "first response",
    "next_update": "next update",
    "restore": "restore",
    "resolve": "resolve",
    "onsite": "on-site arrival",
}


def clock_label(code: str | None) -> str:
    labels = {
        "first_response": _("first response"),
        "next_update": _("next update"),
        "restore": _("restore deadline"),
        "resolve": _("resolve deadline"),
        "onsite": _("on-site arrival"),
    }
    return labels.get(code or "", "—")


def state_label(state: str) -> str:
    return {
        "running": _("running"),
        "warning": _("at risk"),
        "paused": _("paused"),
        "met": _("met"),
        "breached": _("overdue"),
        "none": _("no target"),
    }.get(state, state)


def clock_state_label(view: ClockView) -> str:
    """A clock's state for people: a clock with a target that has not started (no visit dispatched yet, no reply to
    update after) is "not started", not "no target"."""
    if view.state == "none" and view.target_min is not None:
        return _("not started")
    return state_label(view.state)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def queue_state(item: QueueItem, now: datetime) -> str:
    instant = now.timestamp()
    if item.sla_due is not None:
        if item.sla_due <= instant:
            return "breached"
        if item.sla_warn is not None and item.sla_warn <= instant:
            return "warning"
        return "running"
    if item.sla_paused_remaining is not None:
        return "paused"
    return "none"


def queue_item_json(item: QueueItem, now: datetime) -> dict[str, Any]:
    return {
        "id": item.id,
        "subject": item.subject,
        "status": item.status,
        "priority": item.priority,
        "channel": item.channel,
        "tier": item.tier,
        "assignee": item.assignee,
        "customer": item.customer,
        "created_at": _iso(item.created_at),
        "updated_at": _iso(item.updated_at),
        "version": item.version,
        "sla": {
            "clock": item.sla_clock,
            "state": queue_state(item, now),
            "due_at": datetime.fromtimestamp(item.sla_due, UTC).isoformat() if item.sla_due is not None else None,
            "paused_remaining_s": item.sla_paused_remaining,
        },
    }


def relative(seconds: float) -> str:
    """A short, translated 'in 2 hours' / '3 minutes ago'."""
    from console.i18n.humanize import naturaldelta

    if seconds >= 0:
        return _("in {delta}").format(delta=naturaldelta(seconds))
    return _("{delta} overdue").format(delta=naturaldelta(-seconds))


def queue_rows(items: list[QueueItem], now: datetime) -> tuple[list[str], list[list[object]]]:
    headers = [_("ID"), _("Pri"), _("Subject"), _("Customer"), _("Status"), _("Owner"), _("Clock"), _("Due")]
    rows: list[list[object]] = []
    for item in items:
        if item.sla_due is not None:
            due = relative(item.sla_due - now.timestamp())
        elif item.sla_paused_remaining is not None:
            due = _("paused")
        else:
            due = "—"
        rows.append(
            [
                item.id,
                item.priority,
                item.subject,
                item.customer or "—",
                _(STATUS_LABELS[item.status]),
                f"{item.tier} · {item.assignee or '—'}",
                clock_label(item.sla_clock),
                due,
            ]
        )
    return headers, rows


def ticket_json(detail: TicketDetail) -> dict[str, Any]:
    t = detail.ticket
    customer = detail.customer
    return {
        "id": t.id,
        "subject": t.subject,
        "body": t.body,
        "status": t.status,
        "priority": t.priority,
        "channel": t.channel,
        "tier": t.tier,
        "assignee": t.assignee,
        "parent_id": t.parent_id,
        "customer": None
        if customer is None
        else {
            "id": customer.id,
            "name": customer.name,
            "organisation": customer.organisation,
            "email": customer.email,
            "phone": customer.phone,
            "tier": customer.tier,
            "environment": customer.environment,
        },
        "created_at": _iso(t.created_at),
        "updated_at": _iso(t.updated_at),
        "version": t.version,
        "resolution": {
            "restore_summary": t.restore_summary,
            "summary": t.resolution_summary,
            "code": t.resolution_code,
            "resolved_at": _iso(t.resolved_at),
            "closed_at": _iso(t.closed_at),
            "confirmed": t.confirmed,
            "confirmed_by": t.confirmed_by,
            "unconfirmed_reason": t.unconfirmed_reason,
            "asked_anything_else": t.asked_anything_else,
            "kb_needed": t.kb_needed,
            "followup_due": t.followup_due,
            "followup_done_at": _iso(t.followup_done_at),
        },
        "messages": [
            {"id": m.id, "kind": m.kind, "author": m.author, "body": m.body, "at": _iso(m.created_at)}
            for m in detail.messages
        ],
        "events": [
            {
                "id": e.id,
                "at": _iso(e.at),
                "actor": e.actor,
                "kind": e.kind,
                "from": e.from_value,
                "to": e.to_value,
                "detail": e.detail,
                "recorded_at": _iso(e.recorded_at) if e.recorded_at else None,
                "backfilled": e.backfilled,
                "entered_by": e.entered_by,
            }
            for e in detail.events
        ],
        "sla": {name: view.as_json() for name, view in detail.clocks.items()},
        "calendar": detail.calendar_name,
        "articles": [{"id": a.id, "title": a.title, "status": a.status} for a in detail.articles],
        "other_tickets": [{"id": o.id, "subject": o.subject, "status": o.status} for o in detail.other_tickets],
    }


CONFIRMED_BY = {"phone": N_("by phone"), "email": N_("by e-mail"), "onsite": N_("on site"), "chat": N_("by chat")}


def closure_text(detail: TicketDetail) -> str:
    """One line on how a closed ticket was closed: confirmed (and how) or why not, and its follow-up call."""
    from widgets.safe_text import clean

    t = detail.ticket
    if t.confirmed:
        how = CONFIRMED_BY.get(t.confirmed_by or "")
        text = _("Closed: the customer confirmed {how}").format(how=_(how)) if how else _("Closed: confirmed")
    else:
        text = _("Closed unconfirmed: {reason}").format(reason=clean(t.unconfirmed_reason or "—"))
    if t.followup_due:
        done = _("made") if t.followup_done_at else _("to make")
        text += " · " + _("follow-up call {date} ({state})").format(date=t.followup_due, state=done)
    return text


def ticket_text(detail: TicketDetail) -> str:
    from widgets.safe_text import clean, fit

    t = detail.ticket
    c = detail.customer
    lines = [
        f"#{t.id}  {clean(t.subject)}",
        "  ".join(
            [
                f"{_('Status')}: {_(STATUS_LABELS[t.status])}",
                f"{_('Priority')}: {t.priority} {_(PRIORITY_LABELS[t.priority])}",
                f"{_('Channel')}: {_(t.channel)}",
                f"{_('Owner')}: {t.tier} · {t.assignee or _('unassigned')}",
            ]
        ),
    ]
    if c is not None:
        lines.append(
            f"{_('Customer')}: {clean(c.name)}  {clean(c.organisation)}  {clean(c.email or '')}  {clean(c.phone or '')}"
        )
    if t.status == "closed":
        lines.append(closure_text(detail))
    lines.append("")
    lines.append(_("Times in {zone}").format(zone=zone_label(detail.zone)))
    for name, view in detail.clocks.items():
        due = local_text(view.due_at, detail.zone)
        remaining = relative(view.remaining_s) if view.remaining_s is not None and view.state != "met" else ""
        # padded by terminal cells, so Chinese labels keep the columns aligned
        lines.append(f"  {fit(clock_label(name), 18)} {fit(clock_state_label(view), 11)} {fit(due, 17)} {remaining}")
    lines.append("")
    if t.body.strip():  # what the ticket was opened with (typed in, or the first mail's trimmed text)
        lines.append(f"── {_('Description')} · {local_text(t.created_at, detail.zone)}")
        lines.extend(clean(line) for line in t.body.strip().splitlines())
    kinds = {"customer": _("Customer"), "reply": _("Reply"), "note": _("Internal note")}
    for m in detail.messages:
        when = local_text(m.created_at, detail.zone)
        lines.append(f"── {kinds[m.kind]} · {clean(m.author)} · {when}")
        lines.extend(clean(line) for line in m.body.splitlines())
    lines.append("")
    lines.append(_("Timeline"))
    for e in detail.events:
        when = local_text(e.at, detail.zone)
        how = provenance(e)
        lines.append(
            f"  {when}  {fit(clean(e.actor), 12)} {clean(describe_event(e))}" + (f"  ({clean(how)})" if how else "")
        )
    return "\n".join(lines)


def _policy_layers(policy: Any) -> list[tuple[str, str | None, str | None]]:
    """(title, channel, customer tier) of each table `policy show` prints: the priorities' own rules, then each
    channel override, then each customer-tier override (their effective targets per priority)."""
    from console.rules.policy import CHANNELS

    layers: list[tuple[str, str | None, str | None]] = [(_("Priorities"), None, None)]
    for channel in CHANNELS:
        if getattr(policy.channels, channel) is not None:
            layers.append((_("Channel {name}").format(name=_(channel)), channel, None))
    for tier in policy.tiers:
        layers.append((_("Customer tier {name}").format(name=tier), None, tier))
    return layers


def _effective(policy: Any, priority: str, channel: str | None, tier: str | None) -> dict[str, Any]:
    cal, targets = policy.resolve(priority, channel, tier)
    return {
        "calendar": cal.name,
        "first_response": targets.first_response,
        "next_update": targets.next_update,
        "restore": targets.restore,
        "resolve": targets.resolve,
        "onsite": targets.onsite,
        "warning": targets.warning,
    }


def policy_json(policy: Any) -> dict[str, Any]:
    """The policy document as stored, and ``effective``: the calendar and targets (minutes; None: no target) that
    apply per priority, per channel override and per customer-tier override (precedence applied)."""
    import json

    document: dict[str, Any] = json.loads(policy.to_json())
    effective: dict[str, Any] = {
        "priorities": {p: _effective(policy, p, None, None) for p in PRIORITIES},
        "channels": {},
        "tiers": {},
    }
    for _title, channel, tier in _policy_layers(policy)[1:]:
        if channel is not None:
            effective["channels"][channel] = {p: _effective(policy, p, channel, None) for p in PRIORITIES}
        elif tier is not None:
            effective["tiers"][tier] = {p: _effective(policy, p, None, tier) for p in PRIORITIES}
    document["effective"] = effective
    return document


def policy_tables(policy: Any) -> list[tuple[str, list[str], list[list[object]]]]:
    """(title, headers, rows) per table of `policy show`: the priorities, then each override with its effective
    values; a value an override changes is marked with *."""
    headers = [
        _("Priority"),
        _("Calendar"),
        _("First response"),
        _("Next update"),
        _("Restore"),
        _("Resolve"),
        _("On site (24x7)"),
        _("Warning"),
    ]

    def minutes(value: int | None) -> str:
        return "—" if value is None else _("{n} min").format(n=value)

    def cells(values: dict[str, Any]) -> list[str]:
        return [
            values["calendar"],
            minutes(values["first_response"]),
            minutes(values["next_update"]),
            minutes(values["restore"]),
            minutes(values["resolve"]),
            minutes(values["onsite"]),
            f"{int(values['warning'] * 100)} %",
        ]

    tables: list[tuple[str, list[str], list[list[object]]]] = []
    for title, channel, tier in _policy_layers(policy):
        rows: list[list[object]] = []
        for priority in PRIORITIES:
            own = cells(_effective(policy, priority, None, None))
            mine = cells(_effective(policy, priority, channel, tier))
            marked = [value if value == base else f"{value} *" for value, base in zip(mine, own, strict=True)]
            rows.append([priority, *marked])
        tables.append((title, headers, rows))
    return tables


def policy_settings_text(policy: Any) -> str:
    settings = policy.settings
    return _(
        "Resolved tickets close unconfirmed after {auto} days; a closed ticket reopens for {reopen} days; a P1/P2 "
        "follow-up call is booked 1 to {followup} days after closing."
    ).format(auto=settings.auto_close_days, reopen=settings.reopen_window_days, followup=settings.followup_max_days)
