"""Reply macros: defaults, safe rendering, validation, storage."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.rules.macros import (
    CONSOLE_MACRO_IDS,
    MISSING,
    PLACEHOLDERS,
    Macro,
    MacroError,
    MacroSet,
    default_macros,
    macros_toml_sample,
    placeholders,
    render,
)
from console.rules.phrases import check, default_rules

MACROS = default_macros()
VALUES = {
    "customer": "Ms Chen",
    "agent": "Li Wei",
    "ticket": "HD-1042",
    "next_update_due": "2025-03-04 15:00",
    "new_owner": "Wang Fang",
    "summary": "The mail relay certificate was renewed and delivery resumed at 10:20.",
}
PLACEHOLDER_RE = re.compile(r"\{[a-z_]+\}")


def macro(macro_id: str) -> Macro:
    found = MACROS.get(macro_id)
    assert found is not None
    return found


# --- defaults -----------------------------------------------------------------------------------------


def test_defaults_are_the_console_macros() -> None:
    assert MACROS.ids() == list(CONSOLE_MACRO_IDS)
    keys = [m.key for m in MACROS.macros]
    assert None not in keys and len(set(keys)) == len(keys)


@pytest.mark.parametrize("macro_id", CONSOLE_MACRO_IDS)
def test_each_default_macro_has_both_languages(macro_id: str) -> None:
    m = macro(macro_id)
    assert m.title_en and m.title_zh and m.title("zh") == m.title_zh and m.title("en") == m.title_en
    assert any("\u4e00" <= ch <= "\u9fff" for ch in m.body_zh)
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in m.body_en)
    assert set(placeholders(m.body_zh)) == set(placeholders(m.body_en))
    assert {"customer", "agent", "ticket"} <= set(placeholders(m.body_en))


@pytest.mark.parametrize("macro_id", CONSOLE_MACRO_IDS)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_default_macros_render_fully_and_pass_the_phrase_guard(macro_id: str, lang: str) -> None:
    text = render(macro(macro_id), lang, VALUES)
    assert PLACEHOLDER_RE.search(text) is None
    assert MISSING not in text
    for name in placeholders(macro(macro_id).body(lang)):
        assert VALUES[name] in text
    assert check(text, default_rules(), lang) == []


@pytest.mark.parametrize(
    ("macro_id", "zh_phrases", "en_phrases"),
    [
        (
            "greeting",
            ["您好", "请问有什么能帮您的吗", "这件事我来处理，请您放心"],
            ["Hello", "How can I help you"],
        ),
        ("wait_apology", ["不好意思让您久等了"], ["sorry to have kept you waiting"]),
        ("progress_update", ["最新进展", "下次进展更新时间"], ["update on ticket", "next update"]),
        ("handover", ["接手", "无需再重复说明"], ["take it over", "won't need to explain"]),
        ("pending_notice", ["需要您协助提供", "等待您回复"], ["we need the following from you", "on hold"]),
        ("closing_summary", ["总结如下", "彻底解决", "还有其他问题"], ["summary of ticket", "anything else"]),
    ],
)
def test_default_macros_use_the_prescribed_phrases(macro_id: str, zh_phrases: list[str], en_phrases: list[str]) -> None:
    m = macro(macro_id)
    for phrase in zh_phrases:
        assert phrase in m.body_zh
    for phrase in en_phrases:
        assert phrase in m.body_en


@pytest.mark.parametrize(
    ("macro_id", "needed"),
    [
        ("greeting", {"customer", "agent"}),
        ("wait_apology", {"next_update_due"}),
        ("progress_update", {"summary", "next_update_due"}),
        ("handover", {"new_owner", "next_update_due"}),
        ("pending_notice", {"summary"}),
        ("closing_summary", {"summary"}),
    ],
)
def test_default_macros_say_what_their_purpose_needs(macro_id: str, needed: set[str]) -> None:
    for lang in ("zh", "en"):
        assert needed <= set(placeholders(macro(macro_id).body(lang)))


def test_sample_toml_is_documented_and_is_the_default_set() -> None:
    sample = macros_toml_sample()
    for name in PLACEHOLDERS:
        assert "{" + name + "}" in sample.split("\n[[macros]]")[0]
    assert MacroSet.from_toml(sample) == MACROS


# --- rendering --------------------------------------------------------------------------------------------


def test_render_chooses_the_language() -> None:
    m = macro("greeting")
    assert render(m, "zh", VALUES).startswith("Ms Chen，您好！")
    assert render(m, "zh-CN", VALUES) == render(m, "zh", VALUES)
    assert render(m, "en", VALUES).startswith("Hello Ms Chen,")
    assert render(m, "fr", VALUES) == render(m, "en", VALUES)


def test_values_are_never_expanded_again() -> None:
    m = macro("greeting")
    tricky = {"customer": "{agent} {0} {} }{ {{x}} {customer.__class__} %s", "agent": "Li"}
    text = render(m, "en", tricky)
    assert text.startswith("Hello {agent} {0} {} }{ {{x}} {customer.__class__} %s,")
    assert "This is Li from" in text


def test_missing_or_blank_values_render_as_a_dash() -> None:
    m = macro("handover")
    text = render(m, "en", {"customer": "   ", "agent": "Li"})
    assert text.startswith(f"Hello {MISSING},")
    assert f"{MISSING} will take it over" in text
    assert render(m, "zh", {}).startswith(f"{MISSING}，您好！")


def test_control_characters_in_values_are_dropped() -> None:
    m = macro("closing_summary")
    text = render(m, "en", {**VALUES, "customer": "Ms\x1b[31m Chen\x00", "summary": "Step one.\nStep two."})
    assert "Hello Ms[31m Chen," in text
    assert "\x1b" not in text and "\x00" not in text
    assert "Step one.\nStep two." in text


def test_literal_braces_in_templates() -> None:
    m = Macro(id="json", title_en="J", title_zh="J", body_en='{{"ticket": "{ticket}"}}', body_zh="{{}}")
    assert render(m, "en", {"ticket": "HD-1"}) == '{"ticket": "HD-1"}'
    assert render(m, "zh", {}) == "{}"


def test_an_unvalidated_macro_renders_as_written() -> None:
    broken = Macro.model_construct(id="x", title_en="x", title_zh="x", body_en="oops {", body_zh="x", key=None)
    assert render(broken, "en", VALUES) == "oops {"


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(CONSOLE_MACRO_IDS),
    st.sampled_from(["zh", "en"]),
    st.dictionaries(
        st.sampled_from([*PLACEHOLDERS, "other"]),
        st.text(alphabet=st.characters(exclude_categories=["Cc", "Cs"]), min_size=1).filter(str.strip),
    ),
)
def test_render_never_raises_and_inserts_values_verbatim(macro_id: str, lang: str, values: dict[str, str]) -> None:
    m = macro(macro_id)
    text = render(m, lang, values)
    for name in placeholders(m.body(lang)):
        assert values.get(name, MISSING).strip() in text


# --- validation -----------------------------------------------------------------------------------------


def one(body_en: str = "Hi {customer}", *, macro_id: str = "x", key: str = "k", extra: str = "") -> str:
    return (
        f'[[macros]]\nid = "{macro_id}"\nkey = "{key}"\ntitle_en = "T"\ntitle_zh = "标题"\n'
        f"body_en = '{body_en}'\nbody_zh = '{{customer}}您好'\n{extra}"
    )


def test_a_custom_file_loads() -> None:
    loaded = MacroSet.from_toml(one() + one("Bye", macro_id="y", key="j"))
    assert loaded.ids() == ["x", "y"]
    assert render(loaded.macros[0], "zh", {"customer": "陈女士"}) == "陈女士您好"


def test_unknown_placeholder_names_macro_and_placeholder() -> None:
    with pytest.raises(MacroError, match=r"macro 'x', body_en: unknown placeholder \{custmer\}"):
        MacroSet.from_toml(one("Hi {custmer}"))


@pytest.mark.parametrize("body", ["Hi {customer!r}", "Hi {customer:>20}", "Hi {}", "Hi {0}", "Hi {customer.x}"])
def test_placeholders_must_be_plain_and_named(body: str) -> None:
    with pytest.raises(MacroError, match="macro 'x', body_en"):
        MacroSet.from_toml(one(body))


@pytest.mark.parametrize("body", ["Hi {customer", "Hi customer}", "Hi {customer}}"])
def test_unbalanced_braces_are_refused(body: str) -> None:
    with pytest.raises(MacroError, match="macro 'x', body_en: unbalanced braces"):
        MacroSet.from_toml(one(body))


def test_duplicate_ids_and_keys_are_refused() -> None:
    with pytest.raises(MacroError, match="duplicate macro id 'x'"):
        MacroSet.from_toml(one() + one(key="j"))
    with pytest.raises(MacroError, match="macro 'y': key 'k' is already used"):
        MacroSet.from_toml(one() + one(macro_id="y"))


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[[macros]]\nid = "x"\ntitle_en = "T"\ntitle_zh = "T"\nbody_en = "b"\n', r"macros\[0\]\.body_zh"),
        (one(extra='colour = "red"\n'), r"macros\[0\]\.colour"),
        (one(macro_id="Bad Id"), r"macros\[0\]\.id"),
        (one(key="two words"), r"macros\[0\]\.key"),
        (one(body_en="   "), r"macros\[0\]\.body_en"),
        ("macros = 3\n", "macros"),
    ],
)
def test_bad_files_name_the_field(text: str, field: str) -> None:
    with pytest.raises(MacroError, match="field " + field):
        MacroSet.from_toml(text)


def test_bad_toml_and_json_are_macro_errors() -> None:
    with pytest.raises(MacroError, match="TOML"):
        MacroSet.from_toml("[[macros]\n")
    with pytest.raises(MacroError, match="JSON"):
        MacroSet.from_json("not json")
    with pytest.raises(MacroError, match="unknown placeholder"):
        MacroSet.from_json(
            '{"macros": [{"id": "x", "title_en": "t", "title_zh": "t", "body_en": "{boss}", "body_zh": "z"}]}'
        )
    assert issubclass(MacroError, ValueError)


# --- storage ------------------------------------------------------------------------------------------------


def test_json_round_trip() -> None:
    stored = MACROS.to_json()
    assert isinstance(stored, str)
    assert MacroSet.from_json(stored) == MACROS


def test_toml_export_round_trip() -> None:
    custom = MacroSet.from_toml(one('Quote " and \\ and {{braces}} and 中文') + one("x", macro_id="y", key="j"))
    assert MacroSet.from_toml(custom.to_toml()) == custom
    assert MacroSet.from_toml(MACROS.to_toml()) == MACROS


def test_with_defaults_adds_the_missing_console_macros() -> None:
    custom = MacroSet.from_toml(one(macro_id="greeting", key="w"))
    filled = custom.with_defaults()
    assert filled.ids() == ["greeting", *[i for i in CONSOLE_MACRO_IDS if i != "greeting"]]
    greeting = filled.get("greeting")
    assert greeting is not None and greeting.body_en == "Hi {customer}"
    # The default wait_apology would have clashed on "w", so it comes without a key.
    wait = filled.get("wait_apology")
    assert wait is not None and wait.key is None
    assert MACROS.with_defaults() is MACROS
    assert MacroSet().get("greeting") is None
