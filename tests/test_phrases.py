"""The forbidden-phrase guard: defaults, matching decisions, offsets, rule files, and its precision and recall on
the labelled replies in tests/data/phrase_replies.jsonl."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.rules.phrases import (
    LANGS,
    MAX_FORMS,
    MAX_SKIP,
    Hit,
    PhraseError,
    PhraseRules,
    check,
    default_rules,
    default_rules_toml,
    expand,
    lint_reply,
    normalize_lang,
    tokenize,
)
from tests.bench.phrases import load_replies, score
from tests.conftest import Result

RULES = default_rules()
# Phrases are patterns ({a|b} alternatives, * for a few words); what they stand for are plain forms.
ALL_PATTERNS = [(rule.id, rule.lang, pattern) for rule in RULES.rules for pattern in rule.phrases]
# A wildcard in a form is filled with harmless words to make the text it matches.
_FILLER = {"zh": "那个", "en": "the other"}


def literal(lang: str, form: str) -> str:
    return form.replace("*", _FILLER[lang])


ALL_FORMS = [(rule.id, rule.lang, literal(rule.lang, form)) for rule in RULES.rules for form in rule.forms()]


def sample_forms(lang: str, pattern: str) -> list[str]:
    """The first, middle and last plain forms of a pattern (all of them when there are three or fewer)."""
    forms = expand(pattern)
    picked = dict.fromkeys([forms[0], forms[len(forms) // 2], forms[-1]])
    return [literal(lang, form) for form in picked]


def ids(text: str, lang: str | None = None) -> list[str]:
    return [hit.rule_id for hit in check(text, RULES, lang)]


def spans(text: str, lang: str | None = None) -> list[str]:
    return [text[hit.start : hit.end] for hit in check(text, RULES, lang)]


def fullwidth(text: str) -> str:
    return "".join("\u3000" if ch == " " else chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


# --- defaults ---------------------------------------------------------------------------------------

# What 技术服务行为规范 forbids an agent to say (§4.3 items 66-74, and items 119, 120, 123, 85, 52, 84, 31/35/47/82),
# and the rule that carries it.
STANDARD_RULES = {
    "66 不归我管／你找别人吧": "not_my_job",
    "67 之前谁给你做的，根本不合理": "blame_previous",
    "68 这是公司规定，我没办法": "company_policy",
    "69 这是小事，问题不大／无所谓": "small_matter",
    "70 不可能，从来没有出过这种问题": "impossible",
    "71 我是新来的，这个我不懂": "new_here",
    "72 反正我们做不了，只有某厂家能做": "cannot_do",
    "73 不知道": "vague_dont_know",
    "73 不清楚": "vague_unclear",
    "73 可能": "vague_maybe",
    "73 大概": "vague_roughly",
    "73 差不多": "vague_about_right",
    "73 一般情况下": "vague_usually",
    "74 机器就这样，就是便宜 (85)": "product_badmouth",
    "119 推卸责任": "blame_shift",
    "119 怂恿客户投诉": "urge_complaint",
    "120 强迫客户表示满意": "force_rating",
    "123 负面评论客户处的人员和环境": "disparage_customer",
    "31/35/47/82 争执、生硬、粗暴": "impatience",
    "52 以下班或换班为由": "off_shift",
    "84 没有把握的事随意承诺": "overpromise",
}


@pytest.mark.parametrize("item", sorted(STANDARD_RULES))
def test_everything_the_standard_forbids_has_a_rule_in_both_languages(item: str) -> None:
    langs = {rule.lang for rule in RULES.rules if rule.id == STANDARD_RULES[item]}
    assert langs == {"zh", "en"}


def test_no_rule_outside_the_standard() -> None:
    assert {rule.id for rule in RULES.rules} == set(STANDARD_RULES.values())


def test_defaults_hold_the_standards_wording() -> None:
    zh = {form for rule in RULES.for_lang("zh") for form in rule.forms()}
    for phrase in ["不归我管", "你找别人吧", "这是公司规定", "我没办法", "这是小事", "问题不大", "无所谓"]:
        assert phrase in zh
    for phrase in ["不可能", "我是新来的", "不知道", "不清楚", "可能", "大概", "差不多", "一般情况下"]:
        assert phrase in zh
    for phrase in ["这个我不懂", "反正我们做不了", "根本不合理", "机器就这样", "就是便宜", "之前谁给你做的"]:
        assert phrase in zh
    suggestions = {rule.suggestion for rule in RULES.for_lang("zh")}
    assert "这件事我来处理，请您放心。" in suggestions
    assert any("这个问题我需要确认一下" in s for s in suggestions)


def test_suggestions_are_in_the_rules_language() -> None:
    for rule in RULES.rules:
        has_cjk = any("\u4e00" <= ch <= "\u9fff" for ch in rule.suggestion)
        assert has_cjk == (rule.lang == "zh"), rule


def test_default_suggestions_pass_the_guard() -> None:
    for rule in RULES.rules:
        assert check(rule.suggestion, RULES, rule.lang) == [], rule.suggestion


def test_no_plain_phrase_belongs_to_two_rules() -> None:
    owner: dict[tuple[str, tuple[str, ...]], str] = {}
    for rule_id, lang, form in ALL_FORMS:
        key = (lang, tuple(t.text for t in tokenize(form)))
        assert owner.setdefault(key, rule_id) == rule_id, form


def test_default_toml_is_documented_and_loads_to_the_same_rules() -> None:
    text = default_rules_toml()
    assert text.count("#") > 20
    assert PhraseRules.from_toml(text) == RULES


# --- no false alarms -----------------------------------------------------------------------------------

HARMLESS = [
    "Hello Ms Chen, thank you for contacting us. I'll take care of this for you.",
    "Could you send us the log file as soon as possible so we can continue the investigation?",
    "If possible, please restart the router and tell me whether the light turns green.",
    "Please note that your card may be charged a small verification fee, refunded within 3 days.",
    "If you're not sure which plan you have, you can find it under Settings > Billing.",
    "If you don't know your account ID, it is printed at the top of every invoice.",
    "Make sure the cable is plugged in firmly, then try again.",
    "The new dashboard looks impossibly good on the wallboard, thanks for the screenshot!",
    "One small thing: please keep the ticket number in the subject line when you reply.",
    "We have confirmed the cause: the certificate expired at 02:00 and has now been renewed.",
    "I'm sorry to have kept you waiting. Your ticket has been escalated to our second-line team.",
    "Let me know if there is anything else I can help you with.",
    "Your order was shipped this morning; the tracking number is 1Z999AA10123456784.",
    "The parcel was handled roughly in transit, so we will send a replacement at no cost.",
    "Could you check whether the error still appears or not? Sure enough, a screenshot would help too.",
    "You can save this filter as a rule so new tickets are sorted automatically.",
    "The maintenance window is 22:00-23:00 tonight; the service will be unavailable during that hour.",
    "Thank you for your patience: the fix is deployed and I can confirm the sync works again.",
    "I have passed your feedback on to the product team; they will review it this week.",
    "The notice says the invoice may be delayed by one business day because of the holiday.",
    "您好！我是技术支持工程师小李，请问有什么能帮您的吗？",
    "不好意思让您久等了，您的问题我们已经定位到原因。",
    "请您尽可能提供完整的错误日志，方便我们排查。",
    "我们已排除硬件故障的可能性，接下来会检查网络配置。",
    "如果您不知道账号，可以在发票右上角找到。",
    "不知道您现在方便接听电话吗？我想和您确认几个细节。",
    "截图不清楚，麻烦您重新截一张完整的图片。",
    "如有不清楚的地方，欢迎随时联系我们。",
    "感谢您的认可，能否请您在回访时给我们打个分？",
    "这件事我来处理，请您放心。",
    "对此我深表歉意！有任何问题我都尽力解决。",
    "根据公司规定，保修期为一年，我为您详细说明一下服务政策。",
    "真对不起，这个问题我需要确认一下，稍后电话回复您好吗？",
    "工单已升级至二线工程师，预计今天下午三点前给您答复。",
    "该工单的优先级为一般，我们会在四小时内处理。",
    "我刚来到现场，正在检查机房的设备。",
    "问题已经解决，请您确认一下是否恢复正常？请问您还有其他问题吗？",
    "我理解您现在压力很大，概括一下您的需求：尽快恢复邮件服务，对吗？",
    "如果可能的话，请您今天下班前把配置文件发给我们。",
    "您说没办法登录，是在手机上还是电脑上呢？",
    "电话那边有点听不清楚，我稍后给您回拨好吗？",
    "Hi 王先生, the VPN issue is fixed. 请您重新连接试试。",
]


def test_the_harmless_list_is_long_enough() -> None:
    assert len(HARMLESS) >= 30


@pytest.mark.parametrize("reply", HARMLESS)
def test_ordinary_replies_raise_no_hit(reply: str) -> None:
    assert check(reply, RULES) == []


# --- forbidden phrases in sentences --------------------------------------------------------------------

FORBIDDEN = [
    ("这个产品不归我管，你找别人吧。", ["not_my_job", "not_my_job"]),
    ("这是公司规定，我没办法。", ["company_policy", "company_policy"]),
    ("您别担心，这是小事，问题不大。", ["small_matter", "small_matter"]),
    ("不可能，我们的产品从来没有出过这种问题。", ["impossible", "impossible"]),
    ("我是新来的，这个我不懂。", ["new_here", "new_here"]),
    ("这个我也不知道。", ["vague_dont_know"]),
    ("让我们不知道的原因还在查。", ["vague_dont_know"]),
    ("具体原因我不清楚。", ["vague_unclear"]),
    ("可能是网络问题，您再试试。", ["vague_maybe"]),
    ("大概明天能修好。", ["vague_roughly"]),
    ("大概率是缓存的问题。", ["vague_roughly"]),
    ("改完差不多就可以了。", ["vague_about_right"]),
    ("一般情况下重启就好了。", ["vague_usually"]),
    ("Sorry, that's not my product, please ask someone else.", ["not_my_job", "not_my_job"]),
    ("It's company policy, there's nothing I can do.", ["company_policy", "company_policy"]),
    ("Don't worry, it's a small thing, no big deal.", ["small_matter", "small_matter"]),
    ("That's impossible, our product never has this problem.", ["impossible", "impossible"]),
    ("I'm new here, so honestly I don't know.", ["new_here", "vague_dont_know"]),
    ("I'm not sure what caused it.", ["vague_unclear"]),
    ("Maybe it's the firewall?", ["vague_maybe"]),
    ("It'll take roughly two days, more or less.", ["vague_roughly", "vague_roughly"]),
]


@pytest.mark.parametrize(("reply", "expected"), FORBIDDEN)
def test_forbidden_phrases_are_caught_in_sentences(reply: str, expected: list[str]) -> None:
    assert ids(reply) == expected


def _embed(lang: str, phrase: str) -> tuple[str, int]:
    """A longer sentence around ``phrase`` and where the phrase starts."""
    before = "您好，关于您的工单，" if lang == "zh" else "Thanks for waiting. About your ticket, "
    after = "，请您谅解。" if lang == "zh" else ", and I will write again tomorrow."
    return before + phrase + after, len(before)


def _variants(lang: str, phrase: str) -> list[str]:
    out = [phrase, phrase.upper(), fullwidth(phrase), fullwidth(phrase.upper())]
    if lang == "zh":
        # Characters, and Latin letters or digits as whole words ("10分", "IT"), as the guard reads them.
        chars = [phrase[tok.start : tok.end] for tok in tokenize(phrase)]
        out += [" ".join(chars), "\u3000".join(chars), "-".join(chars), "·".join(chars)]
        if len(chars) >= 3:
            out += [chars[0] + "，" + "".join(chars[1:]), "、".join(chars)]
    else:
        out += [
            phrase.replace(" ", "-"),
            phrase.replace(" ", "  "),
            phrase.replace(" ", "_"),
            phrase.replace(" ", "\t"),
            phrase.replace("'", "’"),
            phrase.replace("'", ""),
            phrase.title(),
        ]
        if phrase.count(" ") >= 2:
            out.append(phrase.replace(" ", ", ", 1))
    return out


@pytest.mark.parametrize(("rule_id", "lang", "pattern"), ALL_PATTERNS)
def test_each_default_phrase_is_caught_in_every_variant(rule_id: str, lang: str, pattern: str) -> None:
    for phrase in sample_forms(lang, pattern):
        variants = _variants(lang, phrase)
        if "*" in pattern:
            # A wildcard stands for words of one clause: commas between every character are not that.
            variants = [v for v in variants if "、" not in v and "，" not in v and ", " not in v]
        for variant in variants:
            text, at = _embed(lang, variant)
            hits = check(text, RULES, lang)
            assert [(h.rule_id, h.start, h.end) for h in hits] == [(rule_id, at, at + len(variant))], variant
            assert hits[0].phrase == variant


def test_every_plain_phrase_is_caught_without_surroundings() -> None:
    # All of them (thousands once the alternatives are expanded), so one loop rather than one test each.
    wrong = []
    for rule_id, _lang, phrase in ALL_FORMS:
        found = [(h.rule_id, h.start, h.end) for h in check(phrase, RULES)]
        if found != [(rule_id, 0, len(phrase))]:
            wrong.append((rule_id, phrase, found))
    assert wrong == []


# --- decisions --------------------------------------------------------------------------------------------


def test_width_spacing_punctuation_and_case_are_seen_through() -> None:
    assert spans("这个不 归 我 管。") == ["不 归 我 管"]
    assert spans("这个不归，我管。") == ["不归，我管"]
    assert spans("I'm ＮＯＴ ＳＵＲＥ yet") == ["ＮＯＴ ＳＵＲＥ"]
    assert spans("I'm not-sure yet") == ["not-sure"]
    assert spans("I'm NoT   SuRe yet") == ["NoT   SuRe"]
    assert spans("I'm not.sure yet") == ["not.sure"]
    assert spans("ｍａｙｂｅ　ｌａｔｅｒ") == ["ｍａｙｂｅ"]
    assert spans("I don’t know") == ["I don’t know"]
    assert spans("i dont know") == ["i dont know"]


def test_english_words_only_match_whole() -> None:
    assert ids("notsure") == []
    assert ids("impossibly good") == []
    assert ids("as soon as possible, if possible, one possible cause") == []
    # "possibly" used to be allowed here; it hedges like "perhaps" (可能), so it is now a rule, while the
    # polite "could you possibly…" is an allow-context.
    assert ids("possibly today") == ["vague_maybe"]
    assert ids("Could you possibly restart it?") == []
    assert ids("maybelline") == []
    assert ids("unroughly") == []
    assert ids("That's impossible!") == ["impossible"]
    assert ids("It is IMPOSSIBLE.") == ["impossible"]


def test_may_be_is_not_maybe() -> None:
    assert ids("Your card may be charged twice; the refund may be delayed.") == []
    assert ids("maybe") == ["vague_maybe"]


def test_sentence_ends_are_never_crossed() -> None:
    assert ids("Did it work or not? Sure, send me a screenshot.") == []
    assert ids("Did it work or not. Sure thing.") == []
    assert ids("不归。我管") == []
    assert ids("不归！我管") == []
    assert ids("不归\n我管") == []
    assert ids("not\nsure") == []


def test_commas_only_inside_longer_phrases() -> None:
    # Two-token phrases across a comma are mostly coincidences; longer ones are not.
    assert ids("感谢您的认可，能否帮忙？") == []
    assert ids("压力很大，概括来说") == []
    assert ids("whether or not, sure") == []
    assert ids("我也不，知道") == ["vague_dont_know"]
    assert ids("I, don't know") == ["vague_dont_know"]
    assert ids("I don't, know") == ["vague_dont_know"]


def test_longest_overlapping_hit_wins_and_is_reported_once() -> None:
    hits = check("这不可能。", RULES)
    assert [(h.rule_id, h.phrase) for h in hits] == [("impossible", "不可能")]
    hits = check("反正我们做不了。", RULES)
    assert [(h.rule_id, h.phrase) for h in hits] == [("cannot_do", "反正我们做不了")]
    hits = check("I'm new here.", RULES)
    assert [(h.rule_id, h.phrase) for h in hits] == [("new_here", "I'm new here")]


def test_chinese_allow_contexts() -> None:
    assert ids("尽可能快") == []
    assert ids("可能性分析") == []
    assert ids("可能是网络问题") == ["vague_maybe"]
    assert ids("不知道您是否方便") == []
    assert ids("我不知道") == ["vague_dont_know"]
    assert ids("图片不清楚") == []
    assert ids("原因不清楚") == ["vague_unclear"]
    # An allow-context only shields the hit it contains.
    assert spans("请尽可能快，可能明天好") == ["可能"]


def test_english_allow_contexts() -> None:
    assert ids("If you are not sure, ask us.") == []
    assert ids("We are not sure yet.") == ["vague_unclear"]
    assert ids("The device was handled roughly.") == []
    assert ids("It takes roughly an hour.") == ["vague_roughly"]


def test_lang_selects_the_rules() -> None:
    text = "Maybe 可能"
    assert ids(text) == ["vague_maybe", "vague_maybe"]
    assert spans(text, "en") == ["Maybe"]
    assert spans(text, "zh") == ["可能"]
    assert spans(text, "zh-CN") == ["可能"]
    with pytest.raises(PhraseError):
        check(text, RULES, "fr")
    assert normalize_lang(None) is None
    assert normalize_lang("EN_gb") == "en"


def test_hits_carry_the_suggestion_of_their_rule() -> None:
    (hit,) = check("这个不归我管", RULES)
    assert hit == Hit("不归我管", 2, 6, "这件事我来处理，请您放心。", "not_my_job")
    (hit,) = check("I dunno", RULES, "en")
    assert hit.suggestion.startswith("I need to confirm")


# --- offsets into the original text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ﬁle ﬁxed, maybe later", "maybe"),  # ligatures expand under NFKC before the hit
        ("㍿の件、可能是网络问题", "可能"),  # one character becomes four
        ("cafe\u0301 maybe", "maybe"),  # combining accent before the hit
        ("Ⅰ don't know", "Ⅰ don't know"),  # the Roman numeral Ⅰ is the letter I under NFKC
        ("…maybe…", "maybe"),
        ("👍👍 not\u00a0sure", "not\u00a0sure"),
        ("① ② ③ 不\u3000可\u3000能", "不\u3000可\u3000能"),
        ("Ｉ ｄｏｎ＇ｔ ｋｎｏｗ", "Ｉ ｄｏｎ＇ｔ ｋｎｏｗ"),
        ("Nai\u0308ve question: not sure", "not sure"),  # a decomposed accent before the hit
        ("not su\u0307re", "not su\u0307re"),  # a stray mark inside a word stays inside its cluster
    ],
)
def test_offsets_index_the_original_text(text: str, expected: str) -> None:
    (hit,) = check(text, RULES)
    assert text[hit.start : hit.end] == expected == hit.phrase
    assert hit.start == text.index(expected)


def test_tokens_map_back_to_the_original() -> None:
    text = "ＡＢ ﬁ，不-归"
    assert [(t.text, text[t.start : t.end]) for t in tokenize(text)] == [
        ("ab", "ＡＢ"),
        ("fi", "ﬁ"),
        ("不", "不"),
        ("归", "归"),
    ]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gives_ordered_disjoint_hits_within_the_text(text: str) -> None:
    hits = check(text, RULES)
    last_end = 0
    for hit in hits:
        assert last_end <= hit.start < hit.end <= len(text)
        assert text[hit.start : hit.end] == hit.phrase
        last_end = hit.end


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=30),
    st.sampled_from(ALL_FORMS),
    st.text(max_size=30),
    st.sampled_from([str.lower, str.upper, fullwidth]),
)
def test_a_phrase_on_its_own_line_is_always_found(
    before: str, item: tuple[str, str, str], after: str, style: object
) -> None:
    rule_id, _lang, phrase = item
    assert callable(style)
    variant = style(phrase)
    text = f"{before}\n{variant}\n{after}"
    at = len(before) + 1
    assert (rule_id, at, at + len(variant)) in [(h.rule_id, h.start, h.end) for h in check(text, RULES)]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(categories=["Zs", "Pd", "Pc"]), min_size=1, max_size=4))
def test_spaces_and_dashes_inside_a_phrase_are_seen_through(sep: str) -> None:
    text = f"我{sep.join('不归我管')}。"
    hits = check(text, RULES, "zh")
    assert [(h.start, h.end) for h in hits] == [(1, len(text) - 1)]


# --- rule files --------------------------------------------------------------------------------------------

CUSTOM = """
[[rules]]
id = "no_asap"
lang = "en"
phrases = ["asap"]
allow = ["asap mode"]
suggestion = "Give a time."

[[rules]]
id = "no_asap"
lang = "zh"
phrases = ["马上"]
suggestion = "请给出具体时间。"
"""


def test_custom_rules_load_and_apply() -> None:
    rules = PhraseRules.from_toml(CUSTOM)
    assert [h.rule_id for h in check("Fixed ASAP, 马上!", rules)] == ["no_asap", "no_asap"]
    assert check("Turn on ASAP mode.", rules) == []
    assert check("maybe", rules) == []
    assert PhraseRules.from_json(rules.to_json()) == rules


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[[rules]]\nid = "x"\nlang = "en"\nphrases = ["a"]\n', "rules[0].suggestion"),
        ('[[rules]]\nid = "x"\nlang = "fr"\nphrases = ["a"]\nsuggestion = "s"\n', "rules[0].lang"),
        ('[[rules]]\nid = "x"\nlang = "en"\nphrases = []\nsuggestion = "s"\n', "rules[0].phrases"),
        ('[[rules]]\nid = "x"\nlang = "en"\nphrases = ["!!"]\nsuggestion = "s"\n', "rules[0].phrases"),
        ('[[rules]]\nid = "X Y"\nlang = "en"\nphrases = ["a"]\nsuggestion = "s"\n', "rules[0].id"),
        (
            '[[rules]]\nid = "x"\nlang = "en"\nphrases = ["a"]\nsugestion = "s"\nsuggestion = "s"\n',
            "sugestion",
        ),
        (
            '[[rules]]\nid = "x"\nlang = "en"\nphrases = ["a b"]\nsuggestion = "s"\nallow = ["ab c"]\n',
            "allow",
        ),
        ('rules = "nope"\n', "rules"),
        ('[[rules]]\nid = "x"\nlang = "en"\nphrases = ["a"]\nsuggestion = ""\n', "rules[0].suggestion"),
    ],
)
def test_bad_rule_files_name_the_field(text: str, field: str) -> None:
    with pytest.raises(PhraseError, match=r"field .*" + field.replace("[", r"\[").replace("]", r"\]")):
        PhraseRules.from_toml(text)


def test_duplicate_rule_ids_per_language_are_refused() -> None:
    again = '[[rules]]\nid = "no_asap"\nlang = "en"\nphrases = ["soon"]\nsuggestion = "s"\n'
    with pytest.raises(PhraseError, match="duplicate rule id 'no_asap' for language 'en'"):
        PhraseRules.from_toml(CUSTOM + again)


def test_bad_toml_and_json_are_phrase_errors() -> None:
    with pytest.raises(PhraseError, match="TOML"):
        PhraseRules.from_toml("[[rules]\n")
    with pytest.raises(PhraseError, match="JSON"):
        PhraseRules.from_json("{")
    assert issubclass(PhraseError, ValueError)


# --- lint-reply ------------------------------------------------------------------------------------------


def test_lint_reply_reports_hits_as_json() -> None:
    report = lint_reply("您好，这个可能要等等。", RULES, "zh")
    (maybe,) = [r for r in RULES.for_lang("zh") if r.id == "vague_maybe"]
    assert report == {"hits": [{"phrase": "可能", "start": 5, "end": 7, "suggestion": maybe.suggestion}]}
    assert json.loads(json.dumps(report, ensure_ascii=False)) == report


def test_lint_reply_clean_and_defaults() -> None:
    assert lint_reply("Thank you, the issue is resolved.") == {"hits": []}
    assert lint_reply("I'm not sure", lang="en")["hits"][0]["phrase"] == "not sure"
    assert lint_reply("I'm not sure", lang="zh") == {"hits": []}


def test_the_module_is_pure() -> None:
    code = (
        "import sys, console.rules.phrases, console.rules.macros; "
        "bad = [m for m in ('sqlite3', 'sqlite_utils', 'textual', 'db') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# --- patterns: alternatives and wildcards ---------------------------------------------------------------


def test_alternatives_expand_to_plain_phrases() -> None:
    assert expand("不{|太|是很}清楚") == ("不清楚", "不太清楚", "不是很清楚")
    assert expand("not {|really} sure") == ("not sure", "not really sure")
    assert expand("{a|b} {c|d}") == ("a c", "a d", "b c", "b d")
    assert expand("plain") == ("plain",)
    assert expand("{x|x}") == ("x",)


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("不{太清楚", "no matching"),
        ("不太}清楚", "outside"),
        ("a|b", "outside"),
        ("{a|{b|c}}", "nested"),
        ("{a|b|c|d|e|f|g|h|i|j}" * 4, "more than"),
    ],
)
def test_bad_patterns_are_refused(pattern: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        expand(pattern)
    text = f'[[rules]]\nid = "x"\nlang = "zh"\nphrases = ["{pattern}"]\nsuggestion = "s"\n'
    with pytest.raises(PhraseError, match=r"field rules\[0\]\.phrases"):
        PhraseRules.from_toml(text)


def test_the_expansion_limit_is_generous_but_bounded() -> None:
    assert len(expand("{a|b}" * 10)) == 1024 <= MAX_FORMS


def _rules(phrases: list[str], allow: list[str] | None = None) -> PhraseRules:
    rule = {"id": "t", "lang": "zh", "phrases": phrases, "allow": allow or [], "suggestion": "s"}
    return PhraseRules.from_json(json.dumps({"rules": [rule]}))


def test_a_wildcard_skips_one_to_six_words_of_one_clause() -> None:
    rules = _rules(["不归*管"])
    assert [h.phrase for h in check("这个不归我们 IT 管。", rules)] == ["不归我们 IT 管"]
    assert check("不归管", rules) == []  # at least one word
    assert check("不归" + "一二三四五六" + "管", rules) != []
    assert check("不归" + "一二三四五六七" + "管", rules) == []  # at most MAX_SKIP
    assert MAX_SKIP == 6
    assert check("不归我们，管", rules) == []  # never across a comma
    assert check("不归我们。管", rules) == []


@pytest.mark.parametrize("pattern", ["*不归", "不归*", "不*{|*}归"])
def test_a_wildcard_must_stand_between_words(pattern: str) -> None:
    with pytest.raises(PhraseError, match="between two words"):
        _rules([pattern])


def test_allow_contexts_take_wildcards_and_never_reach_over_a_comma() -> None:
    rules = _rules(["差不多"], ["{和|跟}*差不多"])
    assert check("新打印机和三楼那台差不多。", rules) == []
    assert ids("这个我真不知道，您问问供应商？") == ["vague_dont_know", "not_my_job"]
    assert ids("不知道您现在方便吗？") == []
    with pytest.raises(PhraseError, match="cannot be part of an exception"):
        _rules(["大概"], ["、大概时间"])


# --- only the agent's own words ---------------------------------------------------------------------------


def test_quoted_lines_are_skipped() -> None:
    reply = "> 我也不清楚为什么会这样\n> > 你们说不可能\n您好，原因已找到，已经修复。"
    assert check(reply, RULES) == []
    assert ids("  ＞ I don't know why\nFixed now.") == []
    assert ids("Fixed now.\nI don't know why > it works") == ["vague_dont_know"]  # not at the line start


def test_text_between_quotation_marks_is_skipped() -> None:
    assert ids("提示“可能是网络问题”，实际原因是邮箱满了。") == []
    assert ids('The error says "probably busy"; the cause was a full disk.') == []
    assert ids("「不清楚」和『可能』都是报错原文。") == []
    # An unpaired mark quotes nothing, and a pair never spans lines.
    assert ids("提示“可能是网络问题，请重试") == ["vague_maybe"]
    assert ids('He said "fine\nmaybe" later') == ["vague_maybe"]
    # Only the quoted part is skipped.
    assert ids("提示“连接已断开”，可能是网线松了。") == ["vague_maybe"]


# --- the cases the guard used to get wrong ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("这不是我们的问题。", ["blame_shift"]),
        ("这不归我们管。", ["not_my_job"]),
        ("那是你们自己的问题。", ["blame_shift"]),
        ("This is not our problem.", ["blame_shift"]),
        ("That's not our department.", ["not_my_job"]),
        ("You'll have to ask someone else.", ["not_my_job"]),
        ("我也不太清楚。", ["vague_unclear"]),
        ("这个我不是很清楚。", ["vague_unclear"]),
        ("原因我也不怎么清楚。", ["vague_unclear"]),
        ("我已经说过了，要先连 VPN。", ["impatience"]),
        ("I already told you.", ["impatience"]),
        ("可能是网络问题吧。", ["vague_maybe"]),
        ("大概明天能好。", ["vague_roughly"]),
        ("差不多可以了。", ["vague_about_right"]),
        ("为了排除可能的原因，请先重启电脑。", []),
        ("我们已排除硬件故障的可能性。", []),
        ("请尽可能详细地描述问题。", []),
        ("如有可能，请今天送修。", []),
        ("We'll get back to you as soon as possible.", []),
        # A polite opener about the customer, like 不知道您是否…; "I don't know if it's the VPN" is not.
        ("I don't know if you saw my message, but your badge is ready.", []),
        ("I don't know if it's the VPN.", ["vague_dont_know"]),
    ],
)
def test_the_briefs_cases(reply: str, expected: list[str]) -> None:
    assert ids(reply) == expected


def test_lint_reply_cli_sees_the_new_rules_and_skips_quotes(cli: Callable[..., Result]) -> None:
    hit = cli("lint-reply", "--lang", "zh", stdin="这不是我们的问题，我也不太清楚。", actor=None)
    assert hit.code == 1
    assert [h["phrase"] for h in hit.json()["hits"]] == ["不是我们的问题", "不太清楚"]
    quoted = cli("lint-reply", "--lang", "zh", stdin="> 我也不太清楚\n已为您修复。", actor=None)
    assert quoted.code == 0 and quoted.json() == {"hits": []}


# --- precision and recall on the labelled replies ---------------------------------------------------------------

REPLIES = load_replies()


def test_the_labelled_set_is_big_mixed_and_uses_known_rules() -> None:
    known = {(rule.lang, rule.id) for rule in RULES.rules}
    for lang in LANGS:
        mine = [r for r in REPLIES if r.lang == lang]
        positives = [r for r in mine if r.expected]
        assert len(mine) >= 200
        assert 0.3 <= len(positives) / len(mine) <= 0.7
        assert {(lang, e) for r in mine for e in r.expected} == {k for k in known if k[0] == lang}
        assert max(len(r.text) for r in mine) > 5 * min(len(r.text) for r in mine)
    assert len({(r.lang, r.text) for r in REPLIES}) == len(REPLIES)


@pytest.mark.parametrize("lang", LANGS)
def test_precision_and_recall_on_the_labelled_replies(lang: str) -> None:
    figures = score(REPLIES, RULES, lang)
    summary = json.dumps(
        {
            "lang": lang,
            "n": figures["n"],
            "reply": figures["reply"],
            "rule": figures["rule"],
            "wrong": figures["wrong"],
        },
        ensure_ascii=False,
        indent=1,
    )
    for level in ("reply", "rule"):
        assert figures[level]["precision"] >= 0.95, summary
        assert figures[level]["recall"] >= 0.95, summary
