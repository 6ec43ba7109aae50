"""Workspace settings: the ``yunying.toml`` file.

Every setting has a documented default that matches common practice. The
same declared models drive ``yunying init``, validation of hand-edited files
and the docs (``docs/data-model.md``).
"""
from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError, Text, problem

CONFIG_FILE = "yunying.toml"
DATABASE_FILE = "yunying.duckdb"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventSettings(_Section):
    """Which events mean what. Used by overview, acquisition and funnels."""

    signup: str = Field("signup", description="Event that marks a registration.")
    activation: str = Field("activate", description="Event that marks an activated user.")
    purchase: str = Field("purchase", description="Event that marks a purchase.")
    revenue: str = Field("revenue", description="Property holding purchase revenue.")
    exposure: str = Field("$exposure", description="Event that marks an experiment exposure.")


class SparkSettings(_Section):
    master: str = Field("local[*]", description="Spark master URL.")
    events_path: str | None = Field(
        None, description="Parquet path/glob of events; default: a snapshot the workspace exports."
    )
    spend_path: str | None = Field(None, description="Parquet path/glob of spend rows.")
    driver_memory: str = Field("2g", description="spark.driver.memory")
    conf: dict[str, str] = Field(
        default_factory=dict,
        description="More Spark settings for the session (e.g. spark.executor.memory, spark.driver.maxResultSize).",
    )


class MetricSetting(_Section):
    """A metric of ``[metrics]`` written as a table: its definition and how it is shown."""

    expr: str = Field(description="Definition in the metric language, e.g. sum(purchase.revenue).")
    label: str | None = Field(None, description="Name shown to people (default: the metric's name).")
    kind: str | None = Field(None, description="count, money, rate or number (default: inferred).")
    good: str = Field("up", description="Whether a rise is good (up), bad (down) or neither (neutral: spend, "
                                        "impressions), for colours in reports.")

    @field_validator("kind")
    @classmethod
    def _kind(cls, v):
        if v is not None and v not in METRIC_KINDS:
            raise ValueError(Text("config.kind_must_one", METRIC_KINDS=', '.join(METRIC_KINDS)))
        return v

    @field_validator("good")
    @classmethod
    def _good(cls, v):
        if v not in GOOD_DIRECTIONS:
            raise ValueError(Text("config.good_must_up_down"))
        return v


METRIC_KINDS = ("count", "money", "rate", "number")
# whether a rise is good news: up, down, or neutral (neither: spend, impressions — shown without red or green)
GOOD_DIRECTIONS = ("up", "down", "neutral")


class HolidaySpan(_Section):
    name: str = Field(..., min_length=1, description="Name shown in reports.")
    from_: dt.date = Field(..., alias="from", description="First day (YYYY-MM-DD).")
    to: dt.date | None = Field(None, description="Last day (default: the first).")
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HolidaySettings(_Section):
    """Days anomaly baselines leave out (docs/alerts.md#holidays)."""

    builtin: bool = Field(True, description="Use the built-in calendar (春節, 618, 雙11 …).")
    ignore: list[str] = Field(default_factory=list, description="Built-in holidays to leave out.")
    extra: list[HolidaySpan] = Field(default_factory=list, description="Your own spans.")


ENV_PREFIX = "env:"
_SECTIONS = ("events", "columns", "spark", "metrics", "metric_trees", "holidays", "channels", "alerts")


class ChannelSettings(_Section):
    """Where alerts go (docs/alerts.md#channels). Secrets are ``env:NAME`` references, read at send time."""

    type: Literal["webhook", "wecom", "dingtalk", "feishu", "slack", "email"]
    url: str | None = Field(None, description="Webhook URL (or env:NAME).")
    secret: str | None = Field(None, description="DingTalk / Feishu signing secret: env:NAME.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers (values may be env:NAME).")
    host: str | None = Field(None, description="SMTP server.")
    port: int | None = Field(None, description="SMTP port (default 587 with starttls, 465 with ssl, 25 with none).")
    security: Literal["starttls", "ssl", "none"] = Field("starttls", description="SMTP connection security.")
    username: str | None = Field(None, description="SMTP user (or env:NAME).")
    password: str | None = Field(None, description="SMTP password: env:NAME.")
    sender: str | None = Field(None, description="From address.")
    to: list[str] = Field(default_factory=list, description="Recipients.")
    timeout: float = Field(10.0, gt=0, description="Seconds to wait for the receiver.")
    retries: int = Field(3, ge=1, le=10, description="Attempts per run before the delivery is reported failed.")
    lang: Literal["en", "zh-Hans", "zh-Hant"] = Field("en", description="Language of the messages.")

    @field_validator("secret", "password")
    @classmethod
    def _secret_from_env(cls, v):
        if v is not None and not v.startswith(ENV_PREFIX):
            raise ValueError(Text("config.secrets_are_read_from"))
        return v

    @model_validator(mode="after")
    def _complete(self):
        if self.type == "email":
            if not (self.host and self.sender and self.to):
                raise ValueError(Text("config.email_channel_needs_host"))
        elif not self.url:
            raise ValueError(Text("config.channel_needs_url", type=self.type))
        return self


class AlertRule(_Section):
    """One ``[[alerts]]`` rule (docs/alerts.md#rules)."""

    name: str = Field(..., min_length=1, max_length=200)
    metric: str = Field(..., description="A metric of [metrics] (or a default one: revenue, active_users …).")
    where: list[str] = Field(default_factory=list, description="Event filters (docs/users.md#filter-language).")
    segment: str | None = Field(None, description="Only the members of this segment.")
    period: Literal["day", "week", "month"] = "day"
    condition: Literal["threshold", "change", "anomaly"]
    above: float | None = Field(None, description="threshold: fire when the value is above this.")
    below: float | None = Field(None, description="threshold: fire when the value is below this.")
    drop: float | None = Field(None, gt=0, description="change: fire when it falls by this much (0.2 = 20 %).")
    rise: float | None = Field(None, gt=0, description="change: fire when it rises by this much.")
    unit: Literal["relative", "points"] = Field(
        "relative", description="change: drop/rise relative to the previous value, or in points of a rate (0.02 = 2 pp).")
    sensitivity: float = Field(3.5, gt=0, description="anomaly: robust z-score threshold.")
    direction: Literal["both", "up", "down"] = Field("both", description="anomaly: which way counts.")
    weeks: int = Field(8, ge=4, le=52, description="anomaly: weeks of same-weekday history in the baseline.")
    grace_minutes: int = Field(30, ge=0, description="Minutes after a period ends before it counts as complete.")
    channels: list[str] = Field(default_factory=list, description="Names of [channels.NAME] to notify.")

    @model_validator(mode="after")
    def _condition_fields(self):
        fields = {"threshold": ("above", "below"), "change": ("drop", "rise"), "anomaly": ()}
        need = fields[self.condition]
        if need and all(getattr(self, f) is None for f in need):
            raise ValueError(Text("config.rule_needs", condition=self.condition, need=' or '.join(need)))
        stray = [f for c, fs in fields.items() if c != self.condition for f in fs if getattr(self, f) is not None]
        if stray:
            raise ValueError(Text("config.do_es_apply_rule", stray=', '.join(stray), condition=self.condition))
        if self.condition == "anomaly" and self.period != "day":
            raise ValueError(Text("config.anomaly_rules_watch_daily"))
        return self


class WorkspaceConfig(_Section):
    name: str = Field("yunying", description="Workspace name, shown in reports.")
    engine: str = Field("duckdb", description="Query engine: duckdb (embedded) or spark.")
    timezone: str = Field("UTC", description="Time zone for day/week/month boundaries.")
    import_timezone: str = Field(
        "UTC", description="Zone assumed for timestamps without an offset in imported files."
    )
    currency: str = Field("CNY", description="Currency of revenue and spend.")
    lang: str = Field("en", description="Language of tables and reports for people: en, zh-Hans or zh-Hant "
                                        "(`--lang` overrides it; the dashboard follows the browser).")
    week_start: str = Field("monday", description="Weeks start on Monday (ISO weeks).")
    memory_limit: str = Field("4GB", description="DuckDB memory limit; larger work spills to disk.")
    threads: int | None = Field(None, description="DuckDB threads (default: all cores).")
    events: EventSettings = EventSettings()
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Explicit column mapping, canonical name -> column in your files.",
    )
    spark: SparkSettings = SparkSettings()
    metrics: dict[str, str | MetricSetting] = Field(
        default_factory=dict,
        description="Named metrics, name = definition (docs/explain.md), e.g. gmv = \"sum(purchase.revenue)\"; "
        "they add to (or replace) the built-in revenue, active_users, buyers, pay_rate, arppu.",
    )
    metric_trees: dict[str, str] = Field(
        default_factory=dict,
        description="How a metric factors, metric = \"a * b * c\" or \"sum over DIM\" "
        "(built in: revenue = \"active_users * pay_rate * arppu\").",
    )
    holidays: HolidaySettings = HolidaySettings()
    channels: dict[str, ChannelSettings] = Field(default_factory=dict, description="Alert channels by name.")
    alerts: list[AlertRule] = Field(default_factory=list, description="Alert rules ([[alerts]]).")

    @model_validator(mode="after")
    def _alert_references(self):
        names = [a.name for a in self.alerts]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(Text("config.alert_names_must_unique", twice=twice))
        for a in self.alerts:
            unknown = [c for c in a.channels if c not in self.channels]
            if unknown:
                raise ValueError(Text("config.alert_unknown_channel_s", name=a.name, unknown=unknown))
        return self

    @field_validator("lang")
    @classmethod
    def _lang(cls, v: str) -> str:
        if v not in ("en", "zh-Hans", "zh-Hant"):
            raise ValueError(Text("config.lang_must_en_zh"))
        return v

    @field_validator("engine")
    @classmethod
    def _engine(cls, v: str) -> str:
        if v not in ("duckdb", "spark"):
            raise ValueError(Text("config.engine_must_duckdb_spark"))
        return v

    @field_validator("timezone", "import_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(Text("config.unknown_time_zone_expected", v=v))
        return v

    @field_validator("week_start")
    @classmethod
    def _week(cls, v: str) -> str:
        if v != "monday":
            raise ValueError(Text("config.only_iso_weeks_monday"))
        return v

    # -- persistence -------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> "WorkspaceConfig":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(key="config.no_such_file", path=path)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(key="config.valid_toml", path=path, exc=exc)
        flat = dict(data.pop("workspace", {}))
        flat.update(data)
        try:
            return cls.model_validate(flat)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            if where:
                raise ConfigError(key="config.setting_problem", path=path, where=where, problem=problem(first))
            raise ConfigError(key="config.file_problem", path=path, problem=problem(first))

    def to_toml(self) -> str:
        data = self.model_dump(exclude_none=True, by_alias=True)
        if not data["spark"].get("conf"):
            data["spark"].pop("conf", None)  # written only when set
        if self.holidays == HolidaySettings():
            data.pop("holidays")  # written only when set
        for section in ("metrics", "metric_trees", "channels", "alerts"):  # written only when set
            if not data.get(section):
                data.pop(section, None)
        top = {k: data.pop(k) for k in list(data) if k not in _SECTIONS}
        doc = {"workspace": top, **data}
        header = (
            "# yunying workspace settings. Documented in docs/data-model.md.\n"
            "# [columns] maps canonical names to columns of your files, e.g. user_id = \"member_no\".\n\n"
        )
        return header + tomli_w.dumps(doc)

    def save(self, path: Path) -> None:
        path.write_text(self.to_toml(), encoding="utf-8")
