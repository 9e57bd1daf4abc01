"""The SLA policy document: calendars, per-priority targets, channel and customer-tier overrides.

Written by operators as TOML (the shipped default, ``console/defaults/policy.toml``, is the template), stored as
JSON. Targets are minutes of the rule's calendar; an absent target means none for a priority rule and "inherit" for
an override, where `"none"` removes a target explicitly. Precedence: customer tier > channel > priority, and within
an override its per-priority table (e.g. `[tiers.gold.P1]`) over its general fields.

`onsite` (dispatch to arrival on site) is the one target counted in minutes of the 24x7 calendar whatever the
rule's calendar, and the one a priority rule has without saying: the standards' 60 minutes unless it says a number
or `"none"` (so a policy written before the on-site clock existed keeps the standards' promise).
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from datetime import tzinfo
from importlib import resources
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from console.i18n import _
from console.rules.calendars import (
    BUILTIN_CALENDARS,
    BusinessCalendar,
    CalendarError,
    calendar_from_spec,
    get_calendar,
)
from console.rules.documents import nested_too_deeply, too_large, too_large_message, too_many_digits
from console.rules.sla import CLOCKS, Targets
from db.vocabulary import PRIORITIES

__all__ = [
    "CHANNELS",
    "PRIORITIES",
    "Override",
    "Policy",
    "PolicyError",
    "PriorityOverride",
    "Rule",
    "Settings",
    "default_policy",
    "default_policy_toml",
    "load_policy_toml",
]

CHANNELS = ("phone", "email", "chat", "web", "onsite")
_TARGET_FIELDS = CLOCKS
ONSITE_DEFAULT = 60  # the standards: an engineer on site within 1 hour of dispatch
_STRICT = ConfigDict(extra="forbid", frozen=True)


class PolicyError(ValueError):
    """An invalid policy; the one-line message names the field."""


def _minutes(value: Any, *, keep_none_marker: bool) -> int | Literal["none"] | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == "none":
        return "none" if keep_none_marker else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(_('must be a positive whole number of minutes (or "none")'))
    return value


def _warning(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValueError(_("must be a fraction between 0 and 1 (e.g. 0.75)"))
    return float(value)


def _calendar_name(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("must be a calendar name"))
    return value.strip()


class _TargetChecks(BaseModel):
    """The checks a rule and an override share: a known calendar name, whole minutes, a warning fraction."""

    model_config = _STRICT
    keep_none_marker: ClassVar[bool] = False  # an override may say "none" to remove an inherited target

    @field_validator("calendar", mode="before", check_fields=False)
    @classmethod
    def _check_calendar(cls, value: Any) -> str | None:
        return _calendar_name(value)

    @field_validator(*_TARGET_FIELDS, mode="before", check_fields=False)
    @classmethod
    def _check_minutes(cls, value: Any, info: ValidationInfo) -> int | Literal["none"] | None:
        # A rule's onsite keeps "none": left out, it is the standards' hour, so "no target" must be said.
        keep = cls.keep_none_marker or info.field_name == "onsite"
        return _minutes(value, keep_none_marker=keep)

    @field_validator("warning", mode="before", check_fields=False)
    @classmethod
    def _check_warning(cls, value: Any) -> float | None:
        return _warning(value)


class Rule(_TargetChecks):
    """A priority's calendar and targets; an absent target means the policy sets none."""

    calendar: str
    first_response: int | None = None
    next_update: int | None = None
    restore: int | None = None
    resolve: int | None = None
    onsite: int | Literal["none"] = ONSITE_DEFAULT
    warning: float = 0.75


class PriorityOverride(_TargetChecks):
    """Fields an override replaces; absent fields are inherited, `"none"` removes a target."""

    keep_none_marker: ClassVar[bool] = True
    calendar: str | None = None
    first_response: int | Literal["none"] | None = None
    next_update: int | Literal["none"] | None = None
    restore: int | Literal["none"] | None = None
    resolve: int | Literal["none"] | None = None
    onsite: int | Literal["none"] | None = None
    warning: float | None = None

    def apply(self, fields: dict[str, Any]) -> None:
        for key in ("calendar", *_TARGET_FIELDS, "warning"):
            value = getattr(self, key)
            if value is not None:
                fields[key] = None if value == "none" else value


class Override(PriorityOverride):
    """A channel or customer-tier override, optionally refined per priority."""

    P1: PriorityOverride | None = None
    P2: PriorityOverride | None = None
    P3: PriorityOverride | None = None
    P4: PriorityOverride | None = None


class Priorities(BaseModel):
    model_config = _STRICT
    P1: Rule
    P2: Rule
    P3: Rule
    P4: Rule


class Channels(BaseModel):
    model_config = _STRICT
    phone: Override | None = None
    email: Override | None = None
    chat: Override | None = None
    web: Override | None = None
    onsite: Override | None = None


class Settings(BaseModel):
    model_config = _STRICT
    auto_close_days: int = 4  # a resolved ticket never confirmed closes itself (as unconfirmed)
    reopen_window_days: int = 14
    followup_max_days: int = 14  # a P1/P2 closure books its follow-up call at most this many days ahead

    @field_validator("auto_close_days", "followup_max_days", mode="before")
    @classmethod
    def _check_days(cls, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(_("must be a positive whole number of days"))
        return value

    @field_validator("reopen_window_days", mode="before")
    @classmethod
    def _check_reopen(cls, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(_("must be a whole number of days (0 or more)"))
        return value


class Policy(BaseModel):
    model_config = _STRICT
    calendars: dict[str, dict[str, Any]] = {}
    priorities: Priorities
    channels: Channels = Channels()
    tiers: dict[str, Override] = {}
    settings: Settings = Settings()

    _built: dict[str, BusinessCalendar] = PrivateAttr(default_factory=dict)
    _resolved: dict[tuple[str, str | None, str | None], tuple[BusinessCalendar, Targets]] = PrivateAttr(
        default_factory=dict
    )
    _tiers_folded: dict[str, Override] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_calendars(self) -> Policy:
        # Raised messages carry their own field path: pydantic reports model-level errors without one.
        for name, spec in self.calendars.items():
            if name in BUILTIN_CALENDARS:
                raise ValueError(_("calendars.{name}: the name is taken by a built-in calendar").format(name=name))
            try:
                self._built[name] = calendar_from_spec(spec, name)
            except CalendarError as exc:
                raise ValueError(f"calendars.{name}.{exc}") from None
        for path, named in self._calendar_refs():
            if named not in BUILTIN_CALENDARS and named not in self._built:
                raise ValueError(_("{field}: unknown calendar {name!r}").format(field=f"{path}.calendar", name=named))
        self._tiers_folded.update({key.strip().casefold(): value for key, value in self.tiers.items()})
        return self

    def _calendar_refs(self) -> list[tuple[str, str]]:
        refs = [(f"priorities.{p}", getattr(self.priorities, p).calendar) for p in PRIORITIES]
        overrides = [(f"channels.{c}", getattr(self.channels, c)) for c in CHANNELS]
        overrides += [(f"tiers.{t}", o) for t, o in self.tiers.items()]
        for path, override in overrides:
            if override is None:
                continue
            if override.calendar is not None:
                refs.append((path, override.calendar))
            for p in PRIORITIES:
                sub = getattr(override, p)
                if sub is not None and sub.calendar is not None:
                    refs.append((f"{path}.{p}", sub.calendar))
        return refs

    def __eq__(self, other: object) -> bool:
        # Compare the document only, not the caches kept beside it.
        return isinstance(other, Policy) and self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]

    def business_zone(self) -> tzinfo:
        """The team's days (a closing day, a follow-up date): the zone of the first business-hours calendar the
        priorities use, P3 first (Asia/Shanghai in the default policy), Asia/Shanghai when all run on 24x7, which has
        no zone of its own. The same rule as the reports' and the wallboard's ``team_zone``."""
        for priority in ("P3", "P2", "P4", "P1"):
            calendar = self.resolve(priority)[0]
            if calendar.own_zone:
                return calendar.tz
        return get_calendar("cn-business").tz

    def calendar(self, name: str) -> BusinessCalendar:
        built = self._built.get(name)
        return built if built is not None else get_calendar(name)

    def resolve(
        self, priority: str, channel: str | None = None, customer_tier: str | None = None
    ) -> tuple[BusinessCalendar, Targets]:
        """Calendar and targets for a ticket (customer tier > channel > priority)."""
        key = (priority, channel, customer_tier)
        cached = self._resolved.get(key)
        if cached is not None:
            return cached
        p = priority.strip().upper()
        if p not in PRIORITIES:
            raise PolicyError(_("priority: unknown priority {value!r} (expected P1..P4)").format(value=priority))
        rule: Rule = getattr(self.priorities, p)
        fields: dict[str, Any] = rule.model_dump()
        if fields["onsite"] == "none":
            fields["onsite"] = None
        layers: list[Override | None] = []
        if channel is not None and channel.strip().lower() in CHANNELS:
            layers.append(getattr(self.channels, channel.strip().lower()))
        if customer_tier is not None:
            layers.append(self._tiers_folded.get(customer_tier.strip().casefold()))
        for override in layers:
            if override is None:
                continue
            override.apply(fields)
            sub: PriorityOverride | None = getattr(override, p)
            if sub is not None:
                sub.apply(fields)
        targets = Targets(
            first_response=fields["first_response"],
            next_update=fields["next_update"],
            restore=fields["restore"],
            resolve=fields["resolve"],
            onsite=fields["onsite"],
            warning=fields["warning"],
        )
        result = (self.calendar(fields["calendar"]), targets)
        if len(self._resolved) > 4096:  # free-text tiers: keep the cache bounded
            self._resolved.clear()
        self._resolved[key] = result
        return result

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Policy:
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise _policy_error(exc) from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _policy_error(exc) from None


def _policy_error(exc: ValidationError) -> PolicyError:
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err["loc"])
    kind = err["type"]
    if kind == "value_error":
        message = str(err.get("ctx", {}).get("error", err["msg"]))
    elif kind == "missing":
        message = _("required")
    elif kind == "extra_forbidden":
        message = _("unknown field")
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = _("must be a table")
    elif kind.startswith("string"):
        message = _("must be text")
    elif kind == "json_invalid":
        message = _("not valid JSON: {detail}").format(detail=err.get("ctx", {}).get("error", ""))
    else:
        message = str(err["msg"])
    return PolicyError(f"{loc}: {message}" if loc else message)


def load_policy_toml(text: str) -> Policy:
    """Parse and validate a policy written in TOML; raises `PolicyError` naming the field."""
    if too_large(text):
        raise PolicyError(too_large_message())
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(_("not valid TOML: {detail}").format(detail=exc)) from None
    except RecursionError:  # tomllib recurses per nesting level
        raise PolicyError(_("not valid TOML: {detail}").format(detail=nested_too_deeply())) from None
    except ValueError:  # not a syntax error (caught above): an integer too long to convert
        raise PolicyError(_("not valid TOML: {detail}").format(detail=too_many_digits())) from None
    return Policy.from_dict(data)


@functools.cache
def default_policy_toml() -> str:
    """The shipped policy (``console/defaults/policy.toml``): the standards' numbers, and the operators' template."""
    return resources.files("console").joinpath("defaults/policy.toml").read_text(encoding="utf-8")


@functools.cache
def default_policy() -> Policy:
    return load_policy_toml(default_policy_toml())
