"""New tickets, typed in or imported in bulk (all or none), and the export that mirrors the import."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

from console.i18n import _
from console.rules.clock import is_zone
from console.rules.errors import BadInput, Unavailable
from console.rules.validation import validate_customer, validate_new_ticket
from console.service.core import TRACKED, ServiceCore
from console.service.sla_book import SlaBook
from db.models import Customer, Ticket

IMPORT_BATCH = 1000  # rows taken from an import's stream at a time


class TicketIntake:
    """Ticket creation, as HelpdeskService offers it (a new ticket's SLA clocks start at once)."""

    def __init__(self, core: ServiceCore, sla_book: SlaBook) -> None:
        self.core = core
        self.sla_book = sla_book

    def create_ticket(
        self,
        subject: str,
        body: str = "",
        *,
        customer: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        organisation: str | None = None,
        customer_tier: str | None = None,
        customer_zone: str | None = None,
        priority: str = "P3",
        channel: str = "email",
        tier: str = "L1",
        at: datetime | None = None,
        parent_id: int | None = None,
    ) -> Ticket:
        self.core.me()
        fields = validate_new_ticket(subject, body, priority, channel, tier)
        if customer_zone is not None and not is_zone(customer_zone):
            raise BadInput(_("unknown time zone: {name}").format(name=customer_zone))
        when = self.core.when(at)

        def work() -> Ticket:
            return self.insert_ticket(
                fields,
                when,
                customer=customer,
                email=email,
                phone=phone,
                organisation=organisation,
                customer_tier=customer_tier,
                customer_zone=customer_zone,
                parent_id=parent_id,
            )

        return self.core.write(work)

    def _customer_for(
        self,
        name: str | None,
        email: str | None,
        phone: str | None,
        organisation: str | None,
        tier: str | None,
        at: datetime,
        zone: str | None = None,
    ) -> Customer | None:
        name, email, phone, organisation, tier = validate_customer(name, email, phone, organisation, tier)
        if not (name or email or phone):
            return None
        found = self.core.store.find_customer(email=email, name=None if email else name)
        if found is not None:
            return found
        record: dict[str, Any] = {
            "name": name or email or phone or "",
            "email": email or None,
            "phone": phone or None,
        }
        if organisation:
            record["organisation"] = organisation
        if tier:
            record["tier"] = tier
        if zone:
            record["zone"] = zone
        return self.core.store.insert_customer(record, at)

    def insert_ticket(
        self,
        fields: Mapping[str, Any],
        at: datetime,
        *,
        customer: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        organisation: str | None = None,
        customer_tier: str | None = None,
        customer_zone: str | None = None,
        parent_id: int | None = None,
        status: str = "new",
        assignee: str | None = None,
    ) -> Ticket:
        cust = self._customer_for(customer, email, phone, organisation, customer_tier, at, customer_zone)
        record = {
            **fields,
            "status": status,
            "assignee": assignee,
            "customer_id": cust.id if cust else None,
            "parent_id": parent_id,
            "created_at": at,
            "updated_at": at,
            "version": 1,
        }
        # an imported ticket that arrives resolved or closed was resolved (and closed) when it was recorded
        if status in ("resolved", "closed"):
            record["resolved_at"] = at
        if status == "closed":
            record["closed_at"] = at
        ticket_id = self.core.store.insert_ticket(record)
        initial = {k: record.get(k) for k in TRACKED}
        detail: dict[str, Any] = {"initial": initial, "subject": fields["subject"]}
        if parent_id is not None:
            detail["parent_id"] = parent_id
        self.core.record(ticket_id, at, "created", None, status, detail)
        ticket = self.core.store.get_ticket(ticket_id)
        self.sla_book.refresh(ticket, at)
        return self.core.store.get_ticket(ticket_id)

    def import_rows(
        self, rows: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]], *, batch: int = IMPORT_BATCH
    ) -> list[int]:
        """Insert validated rows in one transaction: all of them or none.

        ``rows`` may be a stream: it is taken ``batch`` rows at a time, so only one batch is held however many
        rows there are. SQLite may ask for the whole transaction again (busy); ``rows`` is then iterated again
        from the start, so it must be re-iterable (a list, or an object whose ``__iter__`` starts over) — a
        one-shot iterator is refused rather than imported in part."""
        self.core.me()
        now = self.core.at(None)
        one_shot = iter(rows) is rows
        attempts = 0

        def work() -> list[int]:
            nonlocal attempts
            attempts += 1
            if one_shot and attempts > 1:
                raise Unavailable(_("the database was busy; nothing was imported, try again"))
            ids: list[int] = []
            stream = iter(rows)
            while chunk := list(islice(stream, batch)):
                for fields, extra in chunk:
                    when = self.core.at(extra.get("at") or now)
                    ticket = self.insert_ticket(
                        fields,
                        when,
                        customer=extra.get("customer"),
                        email=extra.get("email"),
                        phone=extra.get("phone"),
                        organisation=extra.get("organisation"),
                        customer_tier=extra.get("customer_tier"),
                        status=extra.get("status") or "new",
                        assignee=extra.get("assignee"),
                    )
                    ids.append(ticket.id)
            return ids

        return self.core.write(work)

    def add_customers(self, records: Sequence[tuple[Mapping[str, Any], datetime]]) -> None:
        """Customers with their archive (environment, notes), in one transaction (admins: set-up and migration)."""
        self.core.require_role("admin")

        def work() -> None:
            for record, since in records:
                self.core.store.insert_customer(dict(record), since)

        self.core.write(work)

    def export_records(self) -> list[dict[str, Any]]:
        """Every ticket with its customer's contact details (helpdesk export): supervisors and admins only."""
        self.core.require_role("supervisor", "admin")
        customers = {c.id: c for c in self.core.store.list_customers()}
        records: list[dict[str, Any]] = []
        for t in self.core.store.all_tickets():
            c = customers.get(t.customer_id) if t.customer_id is not None else None
            records.append(
                {
                    "id": t.id,
                    "subject": t.subject,
                    "body": t.body,
                    "priority": t.priority,
                    "channel": t.channel,
                    "tier": t.tier,
                    "status": t.status,
                    "assignee": t.assignee,
                    "customer": c.name if c else None,
                    "email": c.email if c else None,
                    "phone": c.phone if c else None,
                    "organisation": c.organisation if c else None,
                    "customer_tier": c.tier if c else None,
                    "created_at": t.created_at.isoformat(),
                    "updated_at": t.updated_at.isoformat(),
                    "version": t.version,
                }
            )
        return records
