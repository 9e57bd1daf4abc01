"""The ticket screen's panes as Rich renderables: conversation, timeline and the customer's archive.

Everything shown here is customer or agent text: it goes through `clean` (no markup, no escape sequences).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from rich.console import Group
from rich.text import Text

from console.i18n import N_, _
from console.rules.clock import local_text, zone_label
from console.service.ticket_view import TicketDetail, describe_event, provenance
from console.tui.screens.versioned import Seen
from console.tui.ui import status_label
from db.models import Event, Message
from widgets.safe_text import clean, fit, plain

EXCERPT = 60  # characters of a message quoted in the list of changes


def local(dt: Any, zone: tzinfo) -> str:
    """A time in the agent's zone (the ticket header names the zone once)."""
    return local_text(dt, zone)


def ago(dt: Any, now: float) -> str:
    """'3 hours ago' in the interface language: easier to weigh than a timestamp when answering."""
    from console.i18n.humanize import naturaldelta

    return _("{delta} ago").format(delta=naturaldelta(max(0.0, now - dt.timestamp())))


def short_time(dt: Any, zone: tzinfo) -> str:
    """A due time as short as it can be read: the time alone today, month and day otherwise (in the agent's zone)."""
    when = dt.astimezone(zone)
    today = datetime.now(when.tzinfo).date()
    return when.strftime("%H:%M") if when.date() == today else when.strftime("%m-%d %H:%M")


# The tiers the sample data and the policy examples use; an admin's own tier names are shown as written.
CUSTOMER_TIER_LABELS = {"standard": N_("standard"), "gold": N_("gold"), "vip": N_("VIP")}


def customer_tier_label(tier: str) -> str:
    label = CUSTOMER_TIER_LABELS.get(tier.lower())
    return _(label) if label else tier


def conversation(detail: TicketDetail, now: float) -> Group:
    """Customer messages, public replies and internal notes, each clearly marked; then the linked articles."""
    parts: list[Text] = []
    t = detail.ticket
    # always first, with or without a description: it names the zone every time on the screen is shown in
    parts.append(
        Text(
            _("Original request") + f" · {local(t.created_at, detail.zone)} ({zone_label(detail.zone)})",
            style="bold cyan",
        )
    )
    if t.body:
        parts.append(plain(t.body, multiline=True))
    parts.append(Text(""))
    styles = {
        "customer": ("bold cyan", _("Customer")),
        "reply": ("bold green", _("Reply")),
        "note": ("bold yellow", _("Internal note")),
    }
    overrides = guard_overrides(detail)
    for m in detail.messages:
        style, label = styles[m.kind]
        head = Text(
            f"{'▍' if m.kind != 'note' else '▒'} {label} · {clean(m.author)} · {local(m.created_at, detail.zone)}",
            style=style,
        )
        head.append(f"  {ago(m.created_at, now)}", style="dim")
        parts.append(head)
        reason = overrides.get(m.id)
        if reason is not None:
            mark = _("sent past the phrase guard: {reason}").format(reason=clean(reason))
            parts.append(Text("⚠ " + mark, "bold red"))
        body = plain(m.body, "italic" if m.kind == "note" else "", multiline=True)
        parts.append(body)
        sent = detail.mail.status_of(m.id) if detail.mail is not None and m.kind == "reply" else None
        if sent is not None:
            parts.append(mail_state(sent, detail.zone))
        why = detail.mail.automatic.get(m.id) if detail.mail is not None and m.kind == "customer" else None
        if why is not None:
            mark = _("automatic e-mail ({why}): not answered, the ticket unchanged").format(why=clean(why))
            parts.append(Text("✉ " + mark, style="dim"))
        parts.append(Text(""))
    parts.extend(mail_extras(detail))
    if detail.articles:
        parts.append(Text(_("Linked articles"), style="bold"))
        for a in detail.articles:
            parts.append(Text(f"  KB#{a.id} {clean(a.title)}"))
    if not parts:
        parts.append(Text(_("No messages yet."), style="dim"))
    return Group(*parts)


def mail_state(row: dict[str, Any], zone: tzinfo) -> Text:
    """Whether an outgoing e-mail was sent, is waiting, or failed (untrusted parts cleaned)."""
    to = clean(str(row["to_addr"]))
    if row["status"] == "sent":
        when = local(datetime.fromisoformat(str(row["sent_at"])), zone) if row["sent_at"] else ""
        return Text("✉ " + _("sent to {to} · {at}").format(to=to, at=when), style="green")
    if row["status"] == "failed":
        why = clean(str(row["last_error"] or ""))
        return Text("✉ " + _("delivery to {to} failed: {why}").format(to=to, why=why), style="bold red")
    text = "✉ " + _("waiting to be sent to {to}").format(to=to)
    if row["attempts"]:
        text += " · " + _("attempt {n}: {why}").format(n=row["attempts"], why=clean(str(row["last_error"] or "")))
    return Text(text, style="yellow")


def mail_extras(detail: TicketDetail) -> list[Text]:
    """The receipt confirmations sent by the mail channel and the attachments received, under the messages."""
    if detail.mail is None:
        return []
    parts: list[Text] = []
    for row in detail.mail.outbox:
        if row["kind"] == "receipt":
            parts.append(Text(_("Receipt confirmation") + " ", style="bold") + mail_state(row, detail.zone))
    if detail.mail.attachments:
        parts.append(Text(_("Attachments"), style="bold"))
        for a in detail.mail.attachments:
            size = f"{int(a['size']) / 1024:.0f} KB" if int(a["size"]) < 2**20 else f"{int(a['size']) / 2**20:.1f} MB"
            line = Text(f"  📎 {clean(str(a['name']))} · {clean(str(a['content_type']))} · {size}")
            if a["refused"]:
                line.append(" · " + clean(str(a["refused"])), style="yellow")
            parts.append(line)
    if parts:
        parts.append(Text(""))
    return parts


def guard_overrides(detail: TicketDetail) -> dict[int, str]:
    """Public replies sent past the phrase guard: message id -> the reason given. A reply's message and its event
    are written together (same author and instant), so each reply event is paired with its message in order."""
    pending: dict[tuple[str, object], list[str | None]] = {}
    for e in detail.events:
        if e.kind == "reply":
            reason = e.detail.get("guard_override")
            pending.setdefault((e.actor, e.at), []).append(str(reason) if reason else None)
    found: dict[int, str] = {}
    for m in detail.messages:
        if m.kind != "reply":
            continue
        queue = pending.get((m.author, m.created_at))
        if queue:
            reason = queue.pop(0)
            if reason is not None:
                found[m.id] = reason
    return found


def changes_since(detail: TicketDetail, seen: Seen, limit: int = 4) -> Text:
    """What happened to the ticket after what the agent saw: the newest events, one line each, with the words of
    a note, reply or customer message written with them."""
    events = [e for e in detail.events if e.id > seen.event_id]
    messages = [m for m in detail.messages if m.id > seen.message_id]
    text = Text()
    if len(events) > limit:
        text.append(_("… and {n} earlier changes").format(n=len(events) - limit) + "\n", style="dim")
    for e in events[-limit:]:
        text.append(f"{short_time(e.at, detail.zone)} ", style="dim")
        text.append(clean(e.actor), style="bold")
        text.append(": " + clean(describe_event(e)))
        said = _said_with(e, messages)
        if said is not None:
            text.append(f" “{said}”", style="italic")
        text.append("\n")
    text.rstrip()
    return text


def _said_with(event: Event, messages: list[Message]) -> str | None:
    kinds = {"note": "note", "reply": "reply", "customer_message": "customer"}
    kind = kinds.get(event.kind)
    for m in messages:
        if m.kind == kind and m.created_at == event.at:
            words = " ".join(clean(m.body, multiline=True).split())
            return words if len(words) <= EXCERPT else words[: EXCERPT - 1] + "…"
    return None


def timeline(detail: TicketDetail) -> Text:
    """Every event of the ticket, oldest first, breaches in red and warnings in yellow."""
    text = Text()
    for e in detail.events:
        text.append(f"{local(e.at, detail.zone)}  ", style="dim")
        text.append(f"{fit(clean(e.actor), 12)} ")
        style = "red" if e.kind == "sla_breach" else "yellow" if e.kind == "sla_warning" else ""
        text.append(clean(describe_event(e)), style=style)
        reason = e.detail.get("reason")
        if reason:
            text.append(f" — {clean(str(reason))}", style="dim")
        how = provenance(e)
        if how:
            text.append(f"  ({clean(how)})", style="italic dim")
        text.append("\n")
    return text


def customer_archive(detail: TicketDetail) -> Text:
    """The customer's record and their other tickets."""
    c = detail.customer
    text = Text()
    if c is None:
        return Text(_("No customer on this ticket."), style="dim")
    rows = [
        (_("Name"), c.name),
        (_("Organisation"), c.organisation),
        (_("E-mail"), c.email or "—"),
        (_("Phone"), c.phone or "—"),
        (_("Customer tier"), customer_tier_label(c.tier)),
        (_("Environment"), c.environment or "—"),
        (_("Notes"), c.notes or "—"),
    ]
    for label, value in rows:
        text.append(f"{label}: ", style="bold")
        text.append(clean(value, multiline=True) + "\n")
    text.append("\n" + _("Other tickets") + "\n", style="bold")
    if not detail.other_tickets:
        text.append(_("None.") + "\n", style="dim")
    for o in detail.other_tickets:
        text.append(f"  #{o.id}  {fit(status_label(o.status), 10)} {o.priority}  {clean(o.subject)}\n")
    return text
