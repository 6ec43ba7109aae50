"""Campaigns in a workspace (docs/campaigns.md#definition).

A campaign's *definition* is a TOML file ``campaigns/NAME.toml`` in the workspace folder (people edit it, or
``yunying campaign create`` writes it); it is read and validated here, and an error names the file and the field.
Its *holdout assignment* is recorded per user in the database table ``campaign_assignments`` (campaign, user_id,
grp ``target``|``holdout``, draw, assigned_at), written in one transaction and idempotently: a user assigned once
keeps the group; assigning again adds only users not recorded yet. The draw is a seeded hash of
``campaign:seed:user_id`` (``holdout_draws``), so the same definition gives the same groups anywhere — the demo
generator uses it to keep the held-out users away from the campaign.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tomllib
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import InputFileError, SpecError, Text, YunyingError, problems

FOLDER = "campaigns"
METRICS = ("purchases", "revenue", "purchasers", "new_users", "reactivated_users")
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$")
ASSIGNMENTS_DDL = ("CREATE TABLE IF NOT EXISTS campaign_assignments (campaign VARCHAR NOT NULL, user_id VARCHAR NOT NULL, "
                   "grp VARCHAR NOT NULL, draw DOUBLE NOT NULL, assigned_at TIMESTAMP DEFAULT current_localtimestamp())")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Goal(_Model):
    """A goal: ``metric`` (one of ``METRICS``) and its ``target`` over the campaign's days."""
    metric: Literal["purchases", "revenue", "purchasers", "new_users", "reactivated_users"]
    target: float = Field(gt=0)


class Audience(_Model):
    """Who the campaign is for: ``segment`` (a saved segment's members), or users who did ``event`` (optionally
    with ``property`` = ``value``) before the campaign ended, or ``all_users`` (everyone seen up to its end)."""
    segment: str | None = None
    event: str | None = None
    property: str | None = None
    value: str | None = None
    all_users: bool = False

    @model_validator(mode="after")
    def _one(self):
        given = [self.segment is not None, self.event is not None, self.all_users]
        if sum(given) != 1:
            raise ValueError(Text("campaigns.give_exactly_one_segment"))
        if (self.property is None) != (self.value is None):
            raise ValueError(Text("campaigns.property_value_go_together"))
        if self.property is not None and self.event is None:
            raise ValueError(Text("campaigns.property_value_only_apply"))
        return self


class Holdout(_Model):
    """A share of the audience held back at random (seeded); recorded per user."""
    share: float = Field(gt=0, lt=1)
    seed: int = 0


class BudgetLine(_Model):
    """A budget line. ``media``: actual = the spend table's cost where campaign = ``spend_campaign`` (default the
    campaign's name) on the campaign's days; ``coupons``: actual = the sum of ``property`` on ``event`` (default
    purchase) by audience users on the campaign's days; ``fees``: actual = ``actual`` if given, else ``amount``."""
    kind: Literal["media", "coupons", "fees"]
    amount: float = Field(ge=0)
    label: str | None = None
    spend_campaign: str | None = None
    event: str | None = None
    property: str | None = None
    actual: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _fields(self):
        if self.kind == "coupons" and not self.property:
            raise ValueError(Text("campaigns.coupons_line_needs_property"))
        if self.kind != "coupons" and (self.property or self.event):
            raise ValueError(Text("campaigns.event_property_only_apply"))
        if self.kind != "media" and self.spend_campaign:
            raise ValueError(Text("campaigns.spend_campaign_only_applies"))
        if self.kind != "fees" and self.actual is not None:
            raise ValueError(Text("campaigns.actual_only_applies_fees"))
        return self


class Task(_Model):
    name: str = Field(min_length=1, max_length=200)
    owner: str | None = None
    start: dt.date
    end: dt.date
    depends_on: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _order(self):
        if self.end < self.start:
            raise ValueError(Text("campaigns.task_end_before_start", name=self.name, end=self.end, start=self.start))
        return self


class Campaign(_Model):
    """A campaign definition (docs/campaigns.md#definition)."""
    name: str
    start: dt.date
    end: dt.date
    description: str | None = None
    goals: list[Goal] = Field(min_length=1)
    audience: Audience = Field(default_factory=lambda: Audience(all_users=True))
    holdout: Holdout | None = None
    margin: float = Field(default=1.0, gt=0, le=1)
    budget: list[BudgetLine] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError(Text("campaigns.expected_1_100_letters"))
        return v

    @model_validator(mode="after")
    def _check(self):
        if self.end < self.start:
            raise ValueError(Text("campaigns.end_before_start", end=self.end, start=self.start))
        metrics = [g.metric for g in self.goals]
        dup = sorted({m for m in metrics if metrics.count(m) > 1})
        if dup:
            raise ValueError(Text("campaigns.goals_metric_appears_twice", dup=dup[0]))
        names = [t.name for t in self.tasks]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(Text("campaigns.tasks_name_appears_twice", dup=dup[0]))
        for t in self.tasks:
            missing = [d for d in t.depends_on if d not in names]
            if missing:
                raise ValueError(Text("campaigns.tasks_depends_on_which", name=t.name, missing=missing[0]))
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def to_toml(self) -> str:
        return _toml(self.model_dump(exclude_none=True))


def _loc(err: dict) -> str:
    loc = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(err["loc"]))
    return loc or "campaign"


def parse(data: dict, source: str) -> Campaign:
    """A validated definition from a dict; errors name ``source`` and the field."""
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        raise SpecError(key="campaigns.file_problems", path=source, problems=problems(exc.errors(), loc=_loc)) from None


def folder(root: str | Path) -> Path:
    return Path(root) / FOLDER


def path_of(root: str | Path, name: str) -> Path:
    return folder(root) / f"{name}.toml"


def load_file(path: str | Path) -> Campaign:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(key="campaigns.file_found", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(key="config.valid_toml", path=path, exc=exc) from None
    camp = parse(data, str(path))
    if camp.name != path.stem:
        raise SpecError(key="campaigns.name_differs_from_file", path=path, name=camp.name, stem=path.stem)
    return camp


def load(root: str | Path, name: str) -> Campaign:
    p = path_of(root, name)
    if not p.exists():
        known = [c.stem for c in sorted(folder(root).glob("*.toml"))]
        raise YunyingError(key="campaigns.no_campaign_no_campaigns", name=name, p=p, known=', '.join(known) or 'none yet')
    return load_file(p)


def all_(root: str | Path) -> list[Campaign]:
    return [load_file(p) for p in sorted(folder(root).glob("*.toml"))]


def save(root: str | Path, camp: Campaign, *, replace: bool = False) -> Path:
    """Write ``campaigns/NAME.toml`` atomically (a temporary file renamed over it)."""
    p = path_of(root, camp.name)
    if p.exists() and not replace:
        raise SpecError(key="campaigns.campaign_exists_already_use", name=camp.name, p=p)
    p.parent.mkdir(parents=True, exist_ok=True)
    text = camp.to_toml()
    if parse(tomllib.loads(text), str(p)) != camp:  # what is written must read back as it is
        raise YunyingError(key="campaigns.definition_does_survive_being", p=p)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, p)
    return p


# ----------------------------------------------------------------------------- TOML writing (flat, small)

def _val(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_val(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'


def _toml(data: dict) -> str:
    lines = [f"{k} = {_val(v)}" for k, v in data.items() if not isinstance(v, (dict, list)) or
             (isinstance(v, list) and not (v and isinstance(v[0], dict)))]
    for k, v in data.items():
        if isinstance(v, dict):
            lines += ["", f"[{k}]"] + [f"{kk} = {_val(vv)}" for kk, vv in v.items()]
    for k, v in data.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                lines += ["", f"[[{k}]]"] + [f"{kk} = {_val(vv)}" for kk, vv in item.items()]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- holdout assignment

def holdout_draws(campaign: str, seed: int, user_ids) -> np.ndarray:
    """A uniform [0, 1) number per user id: the first 8 bytes of BLAKE2b(``campaign:seed:user_id``) / 2**64.
    A user is held out when the draw is below the holdout share."""
    prefix = f"{campaign}:{seed}:".encode()
    out = np.empty(len(user_ids), dtype=np.float64)
    for i, u in enumerate(user_ids):
        h = hashlib.blake2b(prefix + str(u).encode(), digest_size=8).digest()
        out[i] = int.from_bytes(h, "big") / 2.0**64
    return out


def ensure_table(con) -> None:
    con.execute(ASSIGNMENTS_DDL)


def assign(ws, camp: Campaign, user_ids) -> dict:
    """Record the holdout assignment of ``user_ids`` (the audience) in one transaction; users already recorded keep
    their group. Returns counts: added, target, holdout (all recorded)."""
    if camp.holdout is None:
        raise SpecError(key="campaigns.campaign_has_no_holdout", name=camp.name)
    ws._check_writable()
    ids = sorted({str(u) for u in user_ids if u is not None})
    draws = holdout_draws(camp.name, camp.holdout.seed, ids)
    grp = np.where(draws < camp.holdout.share, "holdout", "target")
    table = pa.table({"user_id": pa.array(ids, pa.string()), "grp": pa.array(grp.tolist(), pa.string()),
                      "draw": pa.array(draws, pa.float64())})
    with ws._transaction() as con:
        ensure_table(con)
        before = con.execute("SELECT count(*) FROM campaign_assignments WHERE campaign = ?", [camp.name]).fetchall()[0][0]
        con.register("_yy_assign", table)
        try:
            con.execute("INSERT INTO campaign_assignments (campaign, user_id, grp, draw) SELECT ?, a.user_id, a.grp, "
                        "a.draw FROM _yy_assign a WHERE NOT EXISTS (SELECT 1 FROM campaign_assignments c "
                        "WHERE c.campaign = ? AND c.user_id = a.user_id)", [camp.name, camp.name])
        finally:
            con.unregister("_yy_assign")
        counts = dict(con.execute("SELECT grp, count(*) FROM campaign_assignments WHERE campaign = ? GROUP BY grp",
                                  [camp.name]).fetchall())
    total = sum(counts.values())
    return {"added": total - before, "target": counts.get("target", 0), "holdout": counts.get("holdout", 0)}


def has_table(con) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'campaign_assignments'"
                            ).fetchall()[0][0])


def assignment_counts(con, name: str) -> dict:
    if not has_table(con):
        return {}
    return dict(con.execute("SELECT grp, count(*) FROM campaign_assignments WHERE campaign = ? GROUP BY grp",
                            [name]).fetchall())


def assignment_rows(con, name: str) -> list[tuple[str, str]]:
    """The recorded (user_id, group) of a campaign, by user id."""
    if not has_table(con):
        return []
    return con.execute("SELECT user_id, grp FROM campaign_assignments WHERE campaign = ? ORDER BY user_id",
                       [name]).fetchall()


def remove(root: str | Path, ws, name: str) -> bool:
    """Delete a campaign's definition file and its recorded assignment."""
    p = path_of(root, name)
    found = p.exists()
    if ws is not None and has_table(ws.con):
        with ws._transaction() as con:
            con.execute("DELETE FROM campaign_assignments WHERE campaign = ?", [name])
    if found:
        os.remove(p)
    return found
