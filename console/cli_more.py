"""Command groups registered beside the core ones (each adds its sub-parsers)."""

from __future__ import annotations

from collections.abc import Callable

REGISTER: list[Callable[..., None]] = []
