"""Command groups registered beside the core ones (each adds its sub-parsers)."""

from __future__ import annotations

from collections.abc import Callable

from console import cli_wallboard

REGISTER: list[Callable[..., None]] = [cli_wallboard.register]
