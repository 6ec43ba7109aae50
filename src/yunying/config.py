"""Workspace settings: the ``yunying.toml`` file.

Every setting has a documented default that matches common practice. The
same declared models drive ``yunying init``, validation of hand-edited files
and the docs (``docs/data-model.md``).
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError

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

    @field_validator("lang")
    @classmethod
    def _lang(cls, v: str) -> str:
        if v not in ("en", "zh-Hans", "zh-Hant"):
            raise ValueError("lang must be en, zh-Hans or zh-Hant")
        return v

    @field_validator("engine")
    @classmethod
    def _engine(cls, v: str) -> str:
        if v not in ("duckdb", "spark"):
            raise ValueError("engine must be 'duckdb' or 'spark'")
        return v

    @field_validator("timezone", "import_timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (expected an IANA name such as 'Asia/Shanghai')")
        return v

    @field_validator("week_start")
    @classmethod
    def _week(cls, v: str) -> str:
        if v != "monday":
            raise ValueError("only ISO weeks (monday) are supported")
        return v

    # -- persistence -------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> "WorkspaceConfig":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such file")
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})")
        flat = dict(data.pop("workspace", {}))
        flat.update(data)
        try:
            return cls.model_validate(flat)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{path}: setting {where!r}: {first['msg']}")

    def to_toml(self) -> str:
        data = self.model_dump(exclude_none=True)
        if not data["spark"].get("conf"):
            data["spark"].pop("conf", None)  # written only when set
        top = {k: data.pop(k) for k in list(data) if k not in ("events", "columns", "spark")}
        doc = {"workspace": top, **data}
        header = (
            "# yunying workspace settings. Documented in docs/data-model.md.\n"
            "# [columns] maps canonical names to columns of your files, e.g. user_id = \"member_no\".\n\n"
        )
        return header + tomli_w.dumps(doc)

    def save(self, path: Path) -> None:
        path.write_text(self.to_toml(), encoding="utf-8")
