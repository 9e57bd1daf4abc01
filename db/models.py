"""Records that leave the storage layer. Times are aware UTC datetimes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["agent", "supervisor", "admin"]
Tier = Literal["L1", "L2", "L3"]
Status = Literal["new", "open", "pending", "restored", "resolved", "closed"]
Priority = Literal["P1", "P2", "P3", "P4"]
Channel = Literal["phone", "email", "chat", "web", "onsite"]
MessageKind = Literal["customer", "reply", "note"]
ConfirmedBy = Literal["phone", "email", "onsite", "chat"]


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)  # built on first use: start-up stays quick


class Agent(Record):
    name: str
    display_name: str = ""
    role: Role
    tier: Tier = "L1"
    active: bool = True
    created_at: datetime
    login: str | None = None
    board_only: bool = False
    zone: str | None = None  # IANA name; None: the policy's business zone


class Customer(Record):
    id: int
    name: str
    organisation: str = ""
    email: str | None = None
    phone: str | None = None
    tier: str = "standard"
    environment: str = ""
    notes: str = ""
    created_at: datetime
    zone: str | None = None  # IANA name; None: the policy's business zone


class Message(Record):
    id: int
    ticket_id: int
    kind: MessageKind
    author: str
    body: str
    created_at: datetime


class Event(Record):
    id: int
    ticket_id: int | None
    actor: str
    at: datetime
    kind: str
    from_value: str | None = Field(default=None, serialization_alias="from")
    to_value: str | None = Field(default=None, serialization_alias="to")
    detail: dict[str, Any] = Field(default_factory=dict)
    recorded_at: datetime | None = None  # when it was written (None: before the audit trail recorded it)
    backfilled: bool = False  # its time was claimed by an admin (--at), not taken from the clock
    entered_by: str | None = None  # the admin who recorded it acting as the actor (--as)


class Ticket(Record):
    id: int
    subject: str
    body: str = ""
    status: Status
    priority: Priority
    channel: Channel
    tier: Tier
    assignee: str | None = None
    customer_id: int | None = None
    parent_id: int | None = None
    created_at: datetime
    updated_at: datetime
    version: int
    restore_summary: str | None = None
    resolution_summary: str | None = None
    resolution_code: str | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    confirmed: bool | None = None
    confirmed_by: ConfirmedBy | None = None  # how the customer confirmed (schema v4)
    unconfirmed_reason: str | None = None
    asked_anything_else: bool | None = None
    kb_needed: bool = False
    followup_due: str | None = None
    followup_done_at: datetime | None = None
    public_replies: int = 0
    escalations: int = 0
    reopens: int = 0
    sla_clock: str | None = None
    sla_due: float | None = None
    sla_warn: float | None = None
    sla_paused_remaining: int | None = None


class QueueItem(Record):
    """One queue row: the ticket's headline plus its customer's name."""

    id: int
    subject: str
    status: Status
    priority: Priority
    channel: Channel
    tier: Tier
    assignee: str | None
    customer: str | None
    customer_tier: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    sla_clock: str | None
    sla_due: float | None
    sla_warn: float | None
    sla_paused_remaining: int | None


class KbArticle(Record):
    id: int
    ref: str | None = None
    title: str
    body: str
    tags: str = ""
    product: str = ""
    status: Literal["draft", "published"] = "published"
    lang: str = ""
    source_ticket_id: int | None = None
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime


class Csat(Record):
    id: int
    ticket_id: int
    closure: int
    score: int
    comment: str = ""
    at: datetime


class Presence(Record):
    agent: str
    ticket_id: int
    seen_at: float
