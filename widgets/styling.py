"""Styles of a line-API widget's components (Textual's ``COMPONENT_CLASSES``), for drawing segments by hand."""

from __future__ import annotations

from rich.style import Style
from textual.widget import Widget


def component_layer(widget: Widget, component: str) -> Style:
    """What ``component``'s rule sets, as a layer to put over another style (a warning keeps the cursor's
    background): the rule's own attributes, its colours taken from the full style, where semi-transparent ones have
    been blended."""
    full = widget.get_component_rich_style(component)
    layer = widget.get_component_rich_style(component, partial=True)
    return layer + Style.from_color(
        full.color if layer.color is not None else None,
        full.bgcolor if layer.bgcolor is not None else None,
    )
