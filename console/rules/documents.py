"""Reading the small configuration documents admins load (TOML files) and the database keeps (JSON)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError


def parse(text: str, fmt: Literal["toml", "json"], error: type[ValueError], invalid: str) -> Any:
    """The document's data, or ``error(invalid)`` naming the syntax problem (``invalid`` holds ``{error}``)."""
    try:
        return tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise error(invalid.format(error=exc)) from exc


M = TypeVar("M", bound=BaseModel)


def field_path(loc: Sequence[int | str]) -> str:
    """A validation error's location as the file spells it: ``rules[0].suggestion``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def validate(model: type[M], data: Any, error: type[ValueError], invalid: str) -> M:
    """``model`` from parsed data, or ``error(invalid)`` naming the first bad field (``{field}``, ``{problem}``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        problem = str(first["msg"]).removeprefix("Value error, ")
        raise error(invalid.format(field=field_path(first["loc"]), problem=problem)) from exc
