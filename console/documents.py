"""Reading the small configuration documents admins load (TOML files) and the database keeps (JSON)."""

from __future__ import annotations

import json
import tomllib
from typing import Any, Literal


def parse(text: str, fmt: Literal["toml", "json"], error: type[ValueError], invalid: str) -> Any:
    """The document's data, or ``error(invalid)`` naming the syntax problem (``invalid`` holds ``{error}``)."""
    try:
        return tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise error(invalid.format(error=exc)) from exc
