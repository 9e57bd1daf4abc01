"""Key bindings shown in the interface language."""

from __future__ import annotations

import dataclasses

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode

from console.i18n import _


def translate_bindings(node: DOMNode) -> None:
    """Binding descriptions are English msgids at class level (marked with N_); show them translated.
    Called from a node's ``__init__``, so the language chosen at start-up applies to classes defined at import."""
    translated: dict[str, list[Binding]] = {}
    for key, bindings in node._bindings.key_to_bindings.items():
        translated[key] = [
            dataclasses.replace(
                b,
                description=_(b.description) if b.description else b.description,
                tooltip=_(b.tooltip) if b.tooltip else b.tooltip,
            )
            for b in bindings
        ]
    node._bindings = BindingsMap.from_keys(translated)
