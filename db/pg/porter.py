"""The Porter stemmer (M. F. Porter, 1980, with the reference implementation's ``bli``/``logi`` rules), as SQLite's
FTS5 ``porter`` tokenizer applies it: the knowledge search on PostgreSQL stems in Python with the same algorithm,
so an English word finds the same other forms on both engines (PostgreSQL's own ``english`` dictionary is Snowball's
later "Porter2", which stems differently)."""

from __future__ import annotations

from functools import lru_cache

_STEP2 = (
    ("ational", "ate"),
    ("tional", "tion"),
    ("enci", "ence"),
    ("anci", "ance"),
    ("izer", "ize"),
    ("bli", "ble"),
    ("alli", "al"),
    ("entli", "ent"),
    ("eli", "e"),
    ("ousli", "ous"),
    ("ization", "ize"),
    ("ation", "ate"),
    ("ator", "ate"),
    ("alism", "al"),
    ("iveness", "ive"),
    ("fulness", "ful"),
    ("ousness", "ous"),
    ("aliti", "al"),
    ("iviti", "ive"),
    ("biliti", "ble"),
    ("logi", "log"),
)
_STEP3 = (
    ("icate", "ic"),
    ("ative", ""),
    ("alize", "al"),
    ("iciti", "ic"),
    ("ical", "ic"),
    ("ful", ""),
    ("ness", ""),
)
_STEP4 = (
    "al",
    "ance",
    "ence",
    "er",
    "ic",
    "able",
    "ible",
    "ant",
    "ement",
    "ment",
    "ent",
    "ion",
    "ou",
    "ism",
    "ate",
    "iti",
    "ous",
    "ive",
    "ize",
)


def _cons(w: str, i: int) -> bool:
    c = w[i]
    if c in "aeiou":
        return False
    if c == "y":
        return i == 0 or not _cons(w, i - 1)
    return True


def _measure(w: str, k: int) -> int:
    """m of the stem w[:k], written [C](VC)^m[V]."""
    n = i = 0
    while i < k and _cons(w, i):
        i += 1
    while i < k:
        while i < k and not _cons(w, i):
            i += 1
        if i >= k:
            break
        while i < k and _cons(w, i):
            i += 1
        n += 1
    return n


def _vowel_in(w: str, k: int) -> bool:
    return any(not _cons(w, i) for i in range(k))


def _double(w: str, k: int) -> bool:
    """w[:k] ends in a double consonant."""
    return k >= 2 and w[k - 1] == w[k - 2] and _cons(w, k - 1)


def _cvc(w: str, k: int) -> bool:
    """w[:k] ends consonant-vowel-consonant, the last not w, x or y (hop, not hoop or snow)."""
    return k >= 3 and _cons(w, k - 1) and not _cons(w, k - 2) and _cons(w, k - 3) and w[k - 1] not in "wxy"


def _suffixed(w: str, rules: tuple[tuple[str, str], ...], min_m: int) -> str:
    for suffix, repl in rules:
        if w.endswith(suffix):
            k = len(w) - len(suffix)
            return w[:k] + repl if _measure(w, k) > min_m else w
    return w


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The stem of a lower-case ASCII word; words of one or two letters are their own stem."""
    w = word
    if len(w) <= 2:
        return w
    # Step 1a: plurals.
    if w.endswith("sses") or w.endswith("ies"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    # Step 1b: -eed, -ed, -ing.
    if w.endswith("eed"):
        if _measure(w, len(w) - 3) > 0:
            w = w[:-1]
    else:
        for suffix in ("ed", "ing"):
            if w.endswith(suffix) and _vowel_in(w, len(w) - len(suffix)):
                w = w[: -len(suffix)]
                if w.endswith(("at", "bl", "iz")):
                    w += "e"
                elif _double(w, len(w)) and w[-1] not in "lsz":
                    w = w[:-1]
                elif _measure(w, len(w)) == 1 and _cvc(w, len(w)):
                    w += "e"
                break
    # Step 1c: y -> i after a vowel in the stem.
    if w.endswith("y") and _vowel_in(w, len(w) - 1):
        w = w[:-1] + "i"
    w = _suffixed(w, _STEP2, 0)
    w = _suffixed(w, _STEP3, 0)
    # Step 4: the first suffix that fits decides, whether or not its stem is long enough.
    for suffix in _STEP4:
        if w.endswith(suffix):
            k = len(w) - len(suffix)
            if suffix == "ion" and (k == 0 or w[k - 1] not in "st"):
                continue
            if _measure(w, k) > 1:
                w = w[:k]
            break
    # Step 5: a final -e, a final -ll.
    if w.endswith("e"):
        k = len(w) - 1
        m = _measure(w, k)
        if m > 1 or (m == 1 and not _cvc(w, k)):
            w = w[:k]
    if w.endswith("ll") and _measure(w, len(w)) > 1:
        w = w[:-1]
    return w
