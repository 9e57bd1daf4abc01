"""CLI command group: kb (registered through console/cli_more.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def register(sub: Any, common: Any, command: Callable[..., Any]) -> None:
    """Adds this group's sub-commands to the parser."""
