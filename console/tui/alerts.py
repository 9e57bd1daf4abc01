"""The P1 alert: a P1 ticket that starts waiting for this console's agent, while the console is open, rings the
terminal bell and raises a notification that stays until the agent opens the ticket, someone takes it, or the
agent acknowledges it with Ctrl+G.

"Waiting for the agent" is the agent's "Unassigned" view (unassigned in their tier; in any tier for supervisors
and admins) or assigned to them. A ticket is new to the console when it was not waiting at the last look: created
as a P1, escalated into the tier, raised to P1, assigned to the agent, or released again by whoever had it. What
was already waiting when the console opened is not announced: the queue puts it on top (db/store.py
URGENCY_BAND). The app looks again only when the change feed names a ticket that is or was a P1 (or a new one),
so an idle console reads nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.notifications import Notification, Notify

from console.i18n import _
from db.records import TicketFilter
from widgets.safe_text import clean, fit

if TYPE_CHECKING:
    from textual.app import App

    from console.service.helpdesk import HelpdeskService

ALERT_TIMEOUT_S = 12 * 3600.0
"""A shift: the notification stays until it is seen (Textual needs a finite timeout)."""
SUBJECT_CELLS = 60
WATCHED_ROLES_ALL_TIERS = ("supervisor", "admin")


@dataclass(frozen=True)
class WaitingP1:
    ticket_id: int
    subject: str
    tier: str
    customer: str | None
    mine: bool  # assigned to the agent (else unassigned)


def waiting_p1(service: HelpdeskService, now: float) -> list[WaitingP1]:
    """The P1 tickets waiting for the agent behind ``service`` (worker threads only: two indexed queries)."""
    me = service.agent(service.actor_name)
    if me is None or me.board_only:
        return []
    tier = None if me.role in WATCHED_ROLES_ALL_TIERS else me.tier
    found: dict[int, WaitingP1] = {}
    unassigned = TicketFilter(priority="P1", unassigned=True, tier=tier, now=now)
    for item in service.list_tickets(unassigned, 0, 100):
        found[item.id] = WaitingP1(item.id, item.subject, item.tier, item.customer, mine=False)
    for item in service.list_tickets(TicketFilter(priority="P1", assignee=me.name, now=now), 0, 100):
        found[item.id] = WaitingP1(item.id, item.subject, item.tier, item.customer, mine=True)
    return list(found.values())


class P1Alerts:
    """What the console has announced (UI thread only)."""

    def __init__(self, app: App[None]) -> None:
        self._app = app
        self._known: set[int] | None = None  # None until the first look
        self._raised: dict[int, Notification] = {}

    @property
    def raised(self) -> list[int]:
        """Tickets whose alert is still on screen."""
        return list(self._raised)

    def update(self, waiting: Sequence[WaitingP1]) -> list[int]:
        """Take a fresh look: ring and notify for each ticket that was not waiting at the last look, withdraw the
        alerts of tickets no longer waiting (someone took them). The first look only learns what is there.
        Returns the tickets announced now."""
        current = {w.ticket_id: w for w in waiting}
        known, self._known = self._known, set(current)
        for ticket_id in [t for t in self._raised if t not in current]:
            self.seen(ticket_id)
        if known is None:
            return []
        new = [w for w in waiting if w.ticket_id not in known]
        for item in new:
            self._raise(item)
        if new:
            self._app.bell()
        return [w.ticket_id for w in new]

    def _raise(self, item: WaitingP1) -> None:
        if item.mine:
            title = _("P1 assigned to you")
        else:
            title = _("New P1 waiting in {tier}").format(tier=item.tier)
        subject = fit(clean(item.subject), SUBJECT_CELLS).rstrip()
        lines = [f"#{item.ticket_id} {subject}"]
        if item.customer:
            lines.append(fit(clean(item.customer), SUBJECT_CELLS).rstrip())
        lines.append(_("Stays until you open the ticket or press Ctrl+G."))
        notification = Notification("\n".join(lines), clean(title), "error", ALERT_TIMEOUT_S, markup=False)
        self._raised[item.ticket_id] = notification
        self._app.post_message(Notify(notification))

    def seen(self, ticket_id: int) -> None:
        """The agent opened the ticket (or it stopped waiting): its alert goes."""
        notification = self._raised.pop(ticket_id, None)
        if notification is not None and notification in self._app._notifications:
            self._app._unnotify(notification)

    def acknowledge(self) -> int:
        """Ctrl+G: every alert on screen goes (the tickets stay known, so they are not announced again)."""
        count = len(self._raised)
        for ticket_id in list(self._raised):
            self.seen(ticket_id)
        return count
