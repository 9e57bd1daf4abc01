"""Reading the small configuration documents admins load (TOML files) and the database keeps (JSON)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from console.i18n import _

# The documents admins load are a few kilobytes; a bound far above that keeps a wrong or hostile file from
# holding the parser (and memory) for long.
MAX_DOCUMENT_BYTES = 1024 * 1024


def too_large(text: str) -> bool:
    """Whether a document is over `MAX_DOCUMENT_BYTES` in UTF-8."""
    return len(text) > MAX_DOCUMENT_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES


def too_large_message() -> str:
    return _("the document is too large (over {size} KiB)").format(size=MAX_DOCUMENT_BYTES // 1024)


def nested_too_deeply() -> str:
    """What a parser's RecursionError means for the person who wrote the file."""
    return _("nested too deeply")


def too_many_digits() -> str:
    """What the parsers' bare ValueError means: Python refuses to convert a number of over 4300 digits to an int."""
    return _("a number has too many digits")


def parse(text: str, fmt: Literal["toml", "json"], error: type[ValueError], invalid: str) -> Any:
    """The document's data, or ``error(invalid)`` naming the syntax problem (``invalid`` holds ``{error}``).
    A TOML document (what admins load) over `MAX_DOCUMENT_BYTES` is refused before it is parsed."""
    if fmt == "toml" and too_large(text):
        raise error(too_large_message())
    try:
        return tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise error(invalid.format(error=exc)) from exc
    except RecursionError:  # both parsers recurse per nesting level: `a = [[[…` deep enough exhausts the stack
        raise error(invalid.format(error=nested_too_deeply())) from None
    except ValueError:  # not a syntax error (caught above): an integer too long to convert
        raise error(invalid.format(error=too_many_digits())) from None


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
