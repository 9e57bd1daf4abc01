"""Command groups registered beside the core ones (each module adds its sub-parsers)."""

from __future__ import annotations

from collections.abc import Callable

from console import cli_admin, cli_kb, cli_replies, cli_reports, cli_wallboard

REGISTER: list[Callable[..., None]] = [
    cli_wallboard.register,
    cli_kb.register,
    cli_replies.register,
    cli_reports.register,
    cli_admin.register,
]
