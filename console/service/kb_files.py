"""Knowledge-base files: Markdown (first `#` line is the title) or JSON Lines {title, body, tags?, ref?, product?}.

Parsing is all-or-nothing: every bad file or line is named, and nothing is imported unless all are good.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from console.i18n import _
from console.rules.documents import nested_too_deeply
from console.rules.errors import BadInput, ImportFailed
from console.rules.validation import clean_text

MAX_TITLE = 300
MAX_BODY = 200_000
MAX_FIELD = 2_000  # tags, ref, product, lang: one line each


def _cleaned(value: str, field: str, limit: int, *, multiline: bool = False) -> str:
    """The stated rule for untrusted text (`clean_text`), as a field validator: control characters removed,
    over the limit refused (a ValueError, which pydantic reports with the field's name)."""
    try:
        return clean_text(value, field=field, limit=limit, multiline=multiline).strip()
    except BadInput as exc:
        raise ValueError(str(exc)) from None


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    title: str
    body: str
    tags: str = ""
    ref: str | None = None
    product: str = ""
    lang: str = ""

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return "" if value is None else value

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        value = _cleaned(value, "title", MAX_TITLE)
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        value = _cleaned(value, "body", MAX_BODY, multiline=True)
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("tags", "product", "lang")
    @classmethod
    def _line(cls, value: str, info: ValidationInfo) -> str:
        return _cleaned(value, info.field_name or "", MAX_FIELD)

    @field_validator("ref")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        return None if value is None else _cleaned(value, "ref", MAX_FIELD) or None


def guess_lang(text: str) -> str:
    cjk = sum(1 for ch in text[:2000] if "\u4e00" <= ch <= "\u9fff")
    return "zh" if cjk >= 2 else "en"


def parse_markdown(path: Path, text: str) -> ArticleIn:
    lines = text.lstrip("\ufeff").splitlines()
    for index, line in enumerate(lines):
        if line.startswith("# "):
            title = line[2:].strip()
            body = "\n".join(lines[index + 1 :]).strip()
            return ArticleIn(title=title, body=body, ref=path.stem, lang=guess_lang(title + body))
        if line.strip():
            break
    raise ValueError(_("the first line must be a '# Title' heading"))


def read_articles(path: Path, progress: Callable[[int, int | None], None] | None = None) -> list[ArticleIn]:
    """Every article of the file or directory, or ImportFailed naming each bad file and line; ``progress`` hears
    ``(articles read so far, None)`` after each file (and every thousand lines of JSON Lines)."""
    if not path.exists():
        raise ImportFailed([_("{path}: no such file or directory").format(path=path)])
    files = (
        sorted(p for p in path.rglob("*") if p.suffix.lower() in (".md", ".markdown", ".jsonl"))
        if path.is_dir()
        else [path]
    )
    if not files:
        raise ImportFailed([_("{path}: no .md or .jsonl files").format(path=path)])
    articles: list[ArticleIn] = []
    errors: list[str] = []
    for file in files:
        try:
            text = file.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            errors.append(f"{file}: " + _("invalid UTF-8"))
            continue
        except OSError as exc:
            errors.append(f"{file}: {exc.strerror}")
            continue
        if file.suffix.lower() == ".jsonl":
            for number, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                    if not isinstance(data, dict):
                        raise ValueError(_("expected a JSON object"))
                    article = ArticleIn.model_validate(data)
                    if not article.lang:
                        # (a lang given but empty once cleaned is guessed too: model_copy does not validate)
                        article = article.model_copy(update={"lang": guess_lang(article.title + article.body)})
                    articles.append(article)
                    if progress is not None and not len(articles) % 1000:
                        progress(len(articles), None)
                except json.JSONDecodeError as exc:
                    errors.append(f"{file}:{number}: " + _("not JSON: {error}").format(error=exc.msg))
                except RecursionError:  # the decoder recurses per nesting level: `[[[…` deep enough exhausts it
                    errors.append(f"{file}:{number}: " + _("not JSON: {error}").format(error=nested_too_deeply()))
                except ValidationError as exc:
                    first = exc.errors()[0]
                    errors.append(f"{file}:{number}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
                except ValueError as exc:
                    errors.append(f"{file}:{number}: {exc}")
        else:
            try:
                articles.append(parse_markdown(file, text))
            except ValidationError as exc:
                first = exc.errors()[0]
                errors.append(f"{file}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
            except ValueError as exc:
                errors.append(f"{file}: {exc}")
        if progress is not None:
            progress(len(articles), None)
    if errors:
        raise ImportFailed(errors)
    return articles
