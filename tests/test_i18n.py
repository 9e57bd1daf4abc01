"""Translations: every user-facing string in a catalog, the catalogs sound, the glossary kept, the language chosen
the documented way, humanized times in Chinese, argparse in Chinese, and the CLI's JSON the same in every language.

Other modules add strings all the time: a string missing from the Chinese catalog fails here, and
``python -m console.i18n update`` adds it (untranslated) for a translator to fill in.
"""

from __future__ import annotations

import csv
import gettext
import re
import string
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from console import i18n
from console.i18n import _, catalog, detect_language, set_language
from console.rules import workflow
from db.vocabulary import CHANNELS, PRIORITIES, ROLES
from tests.conftest import Result

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "console" / "i18n" / "locale" / "glossary.tsv"
# The terms agents know (the list): the glossary must hold each of them.
REQUIRED_TERMS = {
    "ticket": "工单",
    "priority": "优先级",
    "urgent": "紧急",
    "high": "高",
    "normal": "普通",
    "low": "低",
    "pending customer": "待客户回复",
    "restored": "已恢复",
    "resolved": "已解决",
    "closed": "已关闭",
    "escalate": "升级",
    "first response": "首次响应",
    "next update": "进展更新",
    "restore deadline": "恢复时限",
    "resolve deadline": "解决时限",
    "overdue": "已超时",
    "at risk": "即将超时",
    "knowledge base": "知识库",
    "follow-up call": "回访",
    "satisfaction": "满意度",
}


@pytest.fixture
def chinese() -> Iterator[None]:
    set_language("zh")
    yield
    set_language("en")


def _catalog(lang: str = "zh") -> Catalog:
    with i18n.catalog_path(lang).open("rb") as fh:
        return read_po(fh, locale=lang)


def _translations(catalog: Catalog) -> dict[str | tuple[str, str], tuple[str, ...]]:
    found: dict[str | tuple[str, str], tuple[str, ...]] = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else (message.id[0], message.id[1])
        raw = message.string
        strings: tuple[str, ...] = tuple(raw) if isinstance(raw, (tuple, list)) else (raw or "",)
        found[key] = tuple(s or "" for s in strings)
    return found


# -- every string is in the catalog ---------------------------------------------------------------------


def _babel_messages() -> set[str | tuple[str, str]]:
    """What Babel's own extractor finds over console/ and widgets/ (the check CI runs on every commit)."""
    found: set[str | tuple[str, str]] = set()
    for folder in catalog.SOURCE_DIRS:
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=catalog.KEYWORDS
        ):
            if isinstance(message, str) and message:
                found.add(message)
            elif isinstance(message, tuple) and all(message[:2]):
                found.add((message[0], message[1]))
    return found


def test_every_source_string_has_a_chinese_translation() -> None:
    babel = _babel_messages()
    extracted = set(catalog.extract_messages(ROOT))
    assert babel <= extracted  # the project's extraction is Babel's plus the calls inside f-strings
    assert len(extracted) > 300
    translations = _translations(_catalog("zh"))
    missing = sorted(repr(m) for m in extracted if not all(translations.get(m, ("",))))
    assert missing == [], "untranslated (run `python -m console.i18n update`, then translate):\n" + "\n".join(missing)


def test_strings_inside_f_strings_are_extracted_too() -> None:
    found = list(catalog.calls_in_fstrings("x = f\"{_('Status')}: {ngettext('a', 'as', n)} {y}\"\n"))
    assert found == ["Status", ("a", "as")]


def test_codes_translated_by_value_are_in_the_catalog() -> None:
    """`_(ticket.channel)`, `_(agent.role)`: a new code needs a label in the catalog."""
    translations = _translations(_catalog("zh"))
    for code in (*CHANNELS, *ROLES, *workflow.STATUS_LABELS.values()):
        assert all(translations.get(code, ("",))), code


def _mo_messages(path: Path) -> dict[object, object]:
    """What gettext reads from a compiled catalog, header (the compiler's name and version) left out."""
    with path.open("rb") as fh:
        return {k: v for k, v in gettext.GNUTranslations(fh)._catalog.items() if k != ""}  # type: ignore[attr-defined]


def test_committed_mo_matches_the_po(tmp_path: Path) -> None:
    """The shipped .mo says what its .po says: compared as the messages gettext reads, so a Babel release that
    words its header differently does not make the catalog stale."""
    for lang in i18n.TRANSLATED:
        po = i18n.catalog_path(lang)
        mo = i18n.catalog_path(lang, ".mo")
        assert mo.exists(), f"{mo} missing: run `python -m console.i18n.catalog compile`"
        fresh = tmp_path / f"{lang}.mo"
        fresh.write_bytes(catalog.compile_mo(po))
        expected = _mo_messages(fresh)
        assert _mo_messages(mo) == expected, f"{mo} is stale: run `python -m console.i18n.catalog compile`"
        assert len(expected) > 100


def test_no_fuzzy_entries() -> None:
    fuzzy = [m.id for m in _catalog("zh") if m.id and m.fuzzy]
    assert fuzzy == []  # a fuzzy entry is skipped by the .mo: the interface would fall back to English


def test_catalog_header_has_chinese_plural_forms() -> None:
    catalog = _catalog("zh")
    assert catalog.plural_forms == "nplurals=1; plural=0;"


_PERCENT = re.compile(r"%(?:\([A-Za-z_]+\))?[-#0 +]*\d*(?:\.\d+)?[sdrfx%]")


def _brace_fields(text: str) -> list[tuple[str, str, str]]:
    return sorted(
        (name, spec or "", conversion or "")
        for _literal, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    )


def test_placeholders_survive_translation() -> None:
    """A msgstr with a missing or misspelt `{field}` (or `%s`) would raise at run time, in Chinese only."""
    problems: list[str] = []
    for key, strings in _translations(_catalog("zh")).items():
        source = key if isinstance(key, str) else key[1]
        for text in strings:
            if _brace_fields(source) != _brace_fields(text):
                problems.append(f"{key!r}: {text!r}")
            if sorted(_PERCENT.findall(source)) != sorted(_PERCENT.findall(text)):
                problems.append(f"{key!r}: {text!r}")
    assert problems == []


# -- the glossary -----------------------------------------------------------------------------------------


def _glossary() -> dict[str, str]:
    with GLOSSARY.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return {row["english"].strip().lower(): row["chinese"].strip() for row in rows}


def test_glossary_holds_the_terms_agents_know() -> None:
    glossary = _glossary()
    for english, chinese in REQUIRED_TERMS.items():
        assert glossary.get(english) == chinese, english


def test_catalog_uses_the_glossary_term_wherever_the_term_is_the_whole_msgid() -> None:
    glossary = _glossary()
    wrong = [
        f"{key!r} -> {strings[0]!r}, glossary says {glossary[key.lower()]!r}"
        for key, strings in _translations(_catalog("zh")).items()
        if isinstance(key, str) and key.lower() in glossary and strings[0] != glossary[key.lower()]
    ]
    assert wrong == []


def test_glossary_examples(chinese: None) -> None:
    assert _("pending customer") == "待客户回复"
    assert _("overdue") == "已超时"
    assert _("at risk") == "即将超时"
    assert _(workflow.STATUS_LABELS["resolved"]) == "已解决"
    assert [_(workflow.PRIORITY_LABELS[p]) for p in PRIORITIES] == ["紧急", "高", "普通", "低"]


# -- choosing the language -----------------------------------------------------------------------------------


@pytest.fixture
def no_locale_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HELPDESK_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    "explicit, env, expected",
    [
        ("zh", {"HELPDESK_LANG": "en", "LANG": "en_US.UTF-8"}, "zh"),
        ("en", {"HELPDESK_LANG": "zh"}, "en"),
        (None, {"HELPDESK_LANG": "zh", "LANG": "en_US.UTF-8"}, "zh"),
        (None, {"HELPDESK_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
        (None, {"LANG": "zh_CN.UTF-8"}, "zh"),
        (None, {"LANG": "zh_TW.UTF-8"}, "zh"),
        (None, {"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        (None, {"LC_ALL": "C.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
        (None, {"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_GB.UTF-8"}, "zh"),
        (None, {"LANG": "fr_FR.UTF-8"}, "en"),
        (None, {"HELPDESK_LANG": "de"}, "en"),
        ("klingon", {}, "en"),
    ],
)
def test_language_is_chosen_by_option_then_env_then_locale(
    no_locale_env: pytest.MonkeyPatch, explicit: str | None, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        no_locale_env.setenv(name, value)
    assert detect_language(explicit) == expected


def test_unknown_language_falls_back_to_english() -> None:
    assert set_language("fr") == "en"
    assert _("pending customer") == "pending customer"


# -- humanized times -------------------------------------------------------------------------------------------


def test_relative_times_in_both_languages() -> None:
    from console.present.render import relative

    assert relative(180) == "in 3 minutes"
    assert relative(-720) == "12 minutes overdue"
    set_language("zh")
    try:
        assert relative(180) == "3 分钟后"
        assert relative(-720) == "超时 12 分钟"
        assert relative(3600) == "1 小时后"
        assert relative(-40 * 86400) == "超时 1 个月"
    finally:
        set_language("en")
    assert relative(180) == "in 3 minutes"


DAY = 86400
DURATIONS = (0, 1, 5, 59, 60, 90, 3599, 3600, 5400, DAY - 1, DAY, 2 * DAY, 40 * DAY, 200 * DAY, 366 * DAY, 400 * DAY)


@pytest.mark.parametrize("seconds", [*DURATIONS, 800 * DAY])
def test_humanized_durations_have_no_english_words_in_chinese(chinese: None, seconds: int) -> None:
    from console.i18n.humanize import naturaldelta, precisedelta

    for text in (naturaldelta(seconds), precisedelta(seconds), precisedelta(seconds, minimum_unit="seconds")):
        assert not re.search(r"[A-Za-z]", text), text


def test_precisedelta_reads_as_chinese(chinese: None) -> None:
    from console.i18n.humanize import precisedelta

    assert precisedelta(5400) == "1 小时 30 分钟"
    assert precisedelta(86400 + 3600 + 60) == "1 天 1 小时 1 分钟"


def test_humanize_follows_the_language_on_worker_threads(chinese: None) -> None:
    """humanize keeps its locale per thread, and the console formats times on thread workers."""
    from console.i18n.humanize import naturaldelta

    assert naturaldelta(180) == "3 分钟"
    seen: list[str] = []
    worker = threading.Thread(target=lambda: seen.append(naturaldelta(180)))
    worker.start()
    worker.join()
    assert seen == ["3 分钟"]
    set_language("en")
    worker = threading.Thread(target=lambda: seen.append(naturaldelta(180)))
    worker.start()
    worker.join()
    assert seen[-1] == "3 minutes"
    assert naturaldelta(180) == "3 minutes"


def test_countdowns_in_chinese(chinese: None) -> None:
    from widgets.countdown import format_remaining

    assert format_remaining(2 * 3600 + 600) == "2小时10分"
    assert format_remaining(3 * 86400 + 4 * 3600) == "3天4小时"
    assert format_remaining(-35) == "超时0:35"


# -- the CLI -----------------------------------------------------------------------------------------------------


def _seed_cli(cli: Callable[..., Result]) -> None:
    assert cli("init", "--admin", "boss", actor=None).code == 0
    ticket = ("ticket", "new", "--priority", "P2", "--channel", "phone", "--at", "2026-03-02T09:00:00+08:00")
    created = cli(*ticket, "--subject", "打印机无法打印", "--customer", "张伟")
    assert created.code == 0, created.err
    assert cli("ticket", "reply", "1", "--body", "正在处理", "--at", "2026-03-02T09:10:00+08:00").code == 0


def test_cli_json_is_the_same_in_every_language(cli: Callable[..., Result]) -> None:
    _seed_cli(cli)
    now = ("--now", "2026-03-02T10:00:00+08:00")
    for command in (("ticket", "show", "1", *now), ("ticket", "list", *now), ("agent", "list"), ("policy", "show")):
        english = cli(*command, "--json")
        chinese = cli("--lang", "zh", *command, "--json")
        assert english.code == chinese.code == 0, (command, english.err, chinese.err)
        assert chinese.json() == english.json(), command
        assert chinese.out == english.out


def test_cli_human_output_is_translated(cli: Callable[..., Result]) -> None:
    _seed_cli(cli)
    shown = cli("--lang", "zh", "ticket", "show", "1", "--now", "2026-03-02T10:00:00+08:00")
    assert shown.code == 0, shown.err
    for word in ("状态", "处理中", "优先级", "高", "电话", "首次响应", "进展更新", "解决时限", "回复", "时间线"):
        assert word in shown.out, word
    english = cli("ticket", "show", "1", "--now", "2026-03-02T10:00:00+08:00")
    assert "Status" in english.out and "状态" not in english.out


def test_cli_errors_are_translated(cli: Callable[..., Result]) -> None:
    _seed_cli(cli)
    refused = cli("--lang", "zh", "ticket", "show", "99")
    assert refused.code == 2
    assert refused.err == "helpdesk: 找不到工单 99\n"


def test_argparse_help_and_errors_read_as_chinese(cli: Callable[..., Result]) -> None:
    helped = cli("--lang", "zh", "--help", actor=None)
    assert helped.code == 0
    for word in ("用法：", "选项", "显示此帮助信息并退出", "界面语言"):
        assert word in helped.out, word
    assert "usage:" not in helped.out and "options:" not in helped.out
    bad = cli("--lang", "zh", "ticket", "show")
    assert bad.code == 2
    assert "错误" in bad.err and "缺少必需的参数" in bad.err
    english = cli("--help", actor=None)
    assert "usage:" in english.out and "show this help message and exit" in english.out


def test_known_customer_tiers_are_translated_and_others_shown_as_written() -> None:
    from console.tui.screens.ticket_panes import customer_tier_label

    set_language("zh")
    try:
        assert [customer_tier_label(t) for t in ("gold", "VIP", "standard", "platinum")] == [
            "金牌",
            "VIP",
            "标准",
            "platinum",
        ]
    finally:
        set_language("en")
