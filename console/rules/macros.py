"""Canned reply macros in Chinese and English, following the service standards' prescribed phrases.

Pure logic: no database, no UI. Templates are data (``console/defaults/macros.toml``); the set is validated
when loaded, so an unknown placeholder is refused up front rather than at render time, and ``render`` never
raises. Values are inserted verbatim, never parsed as templates themselves.
"""

from __future__ import annotations

import json
import string
import unicodedata
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from console.i18n import _
from console.rules.documents import parse, validate

__all__ = [
    "CONSOLE_MACRO_IDS",
    "MISSING",
    "PLACEHOLDERS",
    "Macro",
    "MacroError",
    "MacroSet",
    "default_macros",
    "macros_toml_sample",
    "placeholders",
    "render",
]

PLACEHOLDERS: tuple[str, ...] = ("customer", "agent", "ticket", "next_update_due", "new_owner", "summary")
CONSOLE_MACRO_IDS: tuple[str, ...] = (
    "greeting",
    "wait_apology",
    "progress_update",
    "handover",
    "pending_notice",
    "closing_summary",
)
# Shown for a placeholder without a value: visible to the agent, harmless if sent.
MISSING = "—"

_BODY_FIELDS = ("body_en", "body_zh")
_FORMATTER = string.Formatter()


class MacroError(ValueError):
    """A macro file or stored set that cannot be used; the message names the macro and the field."""


def _parse(template: str) -> Iterator[tuple[str, str | None, str | None, str | None]]:
    return iter(_FORMATTER.parse(template))


def placeholders(template: str) -> list[str]:
    """Placeholder names in ``template``, in order (raises ValueError on unbalanced braces)."""
    return [field for _literal, field, _spec, _conv in _parse(template) if field is not None]


def _check_template(macro_id: str, field: str, template: str) -> None:
    try:
        parts = list(_parse(template))
    except ValueError as exc:
        raise ValueError(
            _("macro {macro!r}, {field}: unbalanced braces ({error}); write {{{{ and }}}} for literal braces").format(
                macro=macro_id, field=field, error=exc
            )
        ) from exc
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        shown = "{" + name + "}"
        if name not in PLACEHOLDERS:
            raise ValueError(
                _("macro {macro!r}, {field}: unknown placeholder {placeholder} (known: {known})").format(
                    macro=macro_id, field=field, placeholder=shown, known=", ".join(PLACEHOLDERS)
                )
            )
        if spec or conversion:
            # Format specs and conversions would let a template reach into values; keep them plain.
            raise ValueError(
                _("macro {macro!r}, {field}: placeholder {placeholder} must be plain, without ! or :").format(
                    macro=macro_id, field=field, placeholder=shown
                )
            )


class Macro(BaseModel):
    """One canned reply in both languages; ``key`` is an optional shortcut."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=64)
    title_en: str = Field(min_length=1)
    title_zh: str = Field(min_length=1)
    body_en: str = Field(min_length=1)
    body_zh: str = Field(min_length=1)
    key: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^\S+$")

    @model_validator(mode="after")
    def _templates_are_valid(self) -> Macro:
        for field in _BODY_FIELDS:
            _check_template(self.id, field, getattr(self, field))
        return self

    def title(self, lang: str) -> str:
        return self.title_zh if _lang(lang) == "zh" else self.title_en

    def body(self, lang: str) -> str:
        return self.body_zh if _lang(lang) == "zh" else self.body_en


class MacroSet(BaseModel):
    """An ordered set of macros with unique ids and unique shortcut keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    macros: tuple[Macro, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> MacroSet:
        ids: set[str] = set()
        keys: set[str] = set()
        for macro in self.macros:
            if macro.id in ids:
                raise ValueError(_("duplicate macro id {macro!r}").format(macro=macro.id))
            ids.add(macro.id)
            if macro.key is not None:
                if macro.key in keys:
                    raise ValueError(
                        _("macro {macro!r}: key {key!r} is already used by another macro").format(
                            macro=macro.id, key=macro.key
                        )
                    )
                keys.add(macro.key)
        return self

    def get(self, macro_id: str) -> Macro | None:
        return next((m for m in self.macros if m.id == macro_id), None)

    def ids(self) -> list[str]:
        return [m.id for m in self.macros]

    def with_defaults(self) -> MacroSet:
        """This set plus any console macro it lacks, from the defaults (their key dropped on a clash)."""
        have = set(self.ids())
        used_keys = {m.key for m in self.macros if m.key is not None}
        added: list[Macro] = []
        for macro in default_macros().macros:
            if macro.id in CONSOLE_MACRO_IDS and macro.id not in have:
                if macro.key in used_keys:
                    macro = macro.model_copy(update={"key": None})
                added.append(macro)
        return MacroSet(macros=(*self.macros, *added)) if added else self

    @classmethod
    def from_toml(cls, text: str) -> MacroSet:
        return cls._validated(parse(text, "toml", MacroError, _("Macro file is not valid TOML: {error}")))

    @classmethod
    def from_json(cls, text: str) -> MacroSet:
        return cls._validated(parse(text, "json", MacroError, _("Stored macros are not valid JSON: {error}")))

    def to_json(self) -> str:
        return self.model_dump_json()

    def to_toml(self) -> str:
        """The set as a TOML file ``from_toml`` reads back (for export and ``macro list``)."""
        blocks: list[str] = []
        for macro in self.macros:
            lines = ["[[macros]]"]
            for name, value in macro.model_dump().items():
                if value is not None:
                    # A JSON string is a valid TOML basic string (same escapes).
                    lines.append(f"{name} = {json.dumps(value, ensure_ascii=False)}")
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) + "\n"

    @classmethod
    def _validated(cls, data: Any) -> MacroSet:
        return validate(cls, data, MacroError, _("Invalid macros, field {field}: {problem}"))


def _lang(lang: str | None) -> str:
    return "zh" if (lang or "").strip().lower().startswith("zh") else "en"


def _clean(value: object) -> str:
    """A value as inserted text: control characters (terminal escapes, NUL) dropped, lines kept."""
    text = value if isinstance(value, str) else str(value)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return text.strip() or MISSING


def render(macro: Macro, lang: str, values: Mapping[str, str]) -> str:
    """``macro`` in ``lang`` (zh, else English) with placeholders filled; never raises."""
    template = macro.body(lang)
    try:
        parts = list(_parse(template))
    except ValueError:
        # Only reachable with an unvalidated Macro (model_construct): show it as written.
        return template
    out: list[str] = []
    for literal, name, _spec, _conversion in parts:
        out.append(literal)
        if name is not None:
            value = values.get(name)
            # Inserted as is: a value such as "{agent}" is text, never expanded again.
            out.append(MISSING if value is None else _clean(value))
    return "".join(out)


def macros_toml_sample() -> str:
    """The bundled default macros as TOML text: the documented format for ``helpdesk macro load``."""
    return resources.files("console").joinpath("defaults/macros.toml").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def default_macros() -> MacroSet:
    return MacroSet.from_toml(macros_toml_sample())
