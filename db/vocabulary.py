"""The domain's words, defined once: the storage, the rules, the service and the screens all import them from here.

Plain tuples and one predicate, with no imports, so the console's first frame and the pure rules can use them.
"""

from __future__ import annotations

STATUSES = ("new", "open", "pending", "restored", "resolved", "closed")
OPEN_STATUSES = ("new", "open", "pending", "restored")
"""Work still to do: the queue's statuses (a resolved ticket waits for the customer, not for an agent)."""
DONE_STATUSES = ("resolved", "closed")
PRIORITIES = ("P1", "P2", "P3", "P4")
CHANNELS = ("phone", "email", "chat", "web", "onsite")
TIERS = ("L1", "L2", "L3")
ROLES = ("agent", "supervisor", "admin")
CLOCKS = ("first_response", "next_update", "restore", "resolve", "onsite")
CLOCK_STATES = ("running", "warning", "paused", "met", "breached", "none")
LIVE_CLOCK_STATES = ("running", "warning", "breached")
"""A clock in one of these states is counting down (or past due) now."""
CONFIRMATION_CHANNELS = ("phone", "email", "onsite", "chat")
"""How a customer confirms a fix before a closure (recorded with it)."""
CALL_DIRECTIONS = ("in", "out")
VISIT_STAGES = ("dispatched", "arrived", "left")
"""An on-site visit, in the order it happens."""
SYSTEM_ACTOR = "system"
"""Who the sweep's warnings, breaches and auto-closes are recorded as."""
MAIL_ACTOR = "mail"
"""Who the mail channel's filing is recorded as."""
RESERVED_ACTORS = (SYSTEM_ACTOR, MAIL_ACTOR)
"""The helpdesk's own actors: no agent may take their names, or the record could not tell them apart."""
FOLLOWUP_PRIORITIES = ("P1", "P2")
"""Closing a ticket of these priorities books a follow-up call with the customer (the standards' return visit)."""


def needs_followup(priority: str) -> bool:
    return priority in FOLLOWUP_PRIORITIES
