"""Key bindings shown in the interface language."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

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


def show_bindings(node: DOMNode, ids: Collection[str], shown: bool) -> None:
    """Show the bindings with these ids in the footer, or keep them to the key list and the palette (a footer
    that overflows hides its last keys, `?` among them). The keys work either way."""
    changed = False
    for bindings in node._bindings.key_to_bindings.values():
        for index, b in enumerate(bindings):
            if b.id in ids and b.show != shown:
                bindings[index] = dataclasses.replace(b, show=shown)
                changed = True
    if changed:
        node.refresh_bindings()
