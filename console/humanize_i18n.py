"""humanize in the interface language (its own zh_CN catalog reads `3 分钟`)."""

from __future__ import annotations

from datetime import timedelta

import humanize

from console.i18n import language

_active: str | None = None


def _activate() -> None:
    global _active
    lang = language()
    if lang == _active:
        return
    if lang == "zh":
        humanize.i18n.activate("zh_CN")
    else:
        humanize.i18n.deactivate()
    _active = lang


def naturaldelta(seconds: float) -> str:
    _activate()
    return str(humanize.naturaldelta(timedelta(seconds=abs(seconds))))


def precisedelta(seconds: float, minimum_unit: str = "minutes") -> str:
    _activate()
    return str(humanize.precisedelta(timedelta(seconds=abs(seconds)), minimum_unit=minimum_unit, format="%0.0f"))
