"""humanize in the interface language: ``3 分钟`` and ``1 小时 30 分钟`` in Chinese, humanize's own words in English.

humanize ships a zh_CN catalog, but it reads ``3分`` and ``1月`` (which a Chinese reader takes for "January"), so its
msgids are looked up in our catalog instead (listed below, so extraction keeps them there). humanize keeps the
active locale per thread, and thread workers format times too, so every call activates it on its own thread.
"""

from __future__ import annotations

import gettext
from datetime import timedelta

import humanize
import humanize.i18n

from console import i18n
from console.i18n import N_, language, nN_

_LOCALE = "helpdesk-zh"
"""The name our catalog is registered under in humanize (never a real locale, so humanize never loads one)."""

# The msgids humanize's naturaldelta and precisedelta produce.
MESSAGES = (
    N_("a moment"),
    N_("a second"),
    N_("a minute"),
    N_("an hour"),
    N_("a day"),
    N_("a month"),
    N_("a year"),
    N_("1 year, 1 month"),
    N_("%s and %s"),
)
PLURALS = (
    nN_("%d microsecond", "%d microseconds"),
    nN_("%d millisecond", "%d milliseconds"),
    nN_("%d second", "%d seconds"),
    nN_("%d minute", "%d minutes"),
    nN_("%d hour", "%d hours"),
    nN_("%d day", "%d days"),
    nN_("%d month", "%d months"),
    nN_("%d year", "%d years"),
    nN_("1 year, %d day", "1 year, %d days"),
    nN_("1 year, %d month", "1 year, %d months"),
)


class _OurCatalog(gettext.NullTranslations):
    """humanize's lookups answered from the active helpdesk catalog."""

    def gettext(self, message: str) -> str:
        return i18n._(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return i18n.ngettext(msgid1, msgid2, n)


def _registered() -> bool:
    # humanize offers no public way to hand it a translation object; its table of loaded ones is the seam.
    table = getattr(humanize.i18n, "_TRANSLATIONS", None)
    if not isinstance(table, dict):
        return False
    table.setdefault(_LOCALE, _OurCatalog())
    return True


def _activate() -> None:
    if language() == "en" or not _registered():
        humanize.i18n.deactivate()
    else:
        # A path is given so humanize skips looking for its own locale folder; the name is already registered.
        humanize.i18n.activate(_LOCALE, path=i18n.LOCALE_DIR)


def naturaldelta(seconds: float) -> str:
    """``3 minutes`` / ``3 分钟`` (the sign is the caller's: see ``console.present.render.relative``)."""
    _activate()
    return str(humanize.naturaldelta(timedelta(seconds=abs(seconds))))


def precisedelta(seconds: float, minimum_unit: str = "minutes") -> str:
    """``1 hour and 30 minutes`` / ``1 小时 30 分钟``."""
    _activate()
    text = str(humanize.precisedelta(timedelta(seconds=abs(seconds)), minimum_unit=minimum_unit, format="%0.0f"))
    # humanize joins three or more units with a hard-coded ", "; Chinese separates them with spaces.
    return text.replace(", ", " ") if language() == "zh" else text
