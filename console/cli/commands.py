"""Command groups that live in their own modules (each module adds its sub-parsers to `main.build_parser`'s)."""

from __future__ import annotations

from collections.abc import Callable

from console.cli import admin as cli_admin
from console.cli import data as cli_data
from console.cli import kb as cli_kb
from console.cli import mail as cli_mail
from console.cli import replies as cli_replies
from console.cli import reports as cli_reports
from console.cli import tickets as cli_tickets
from console.cli import wallboard as cli_wallboard

CORE: list[Callable[..., None]] = [
    cli_tickets.register,
    cli_data.register,
]
"""Registered between `agent` and `demo`, in this order: the order `helpdesk --help` lists them in."""

REGISTER: list[Callable[..., None]] = [
    cli_wallboard.register,
    cli_kb.register,
    cli_replies.register,
    cli_reports.register,
    cli_mail.register,
    cli_admin.register,
]
"""Registered after `demo`, in this order."""
