"""What every analysis shares: a frozen, validated, serialisable spec and a result object."""
from __future__ import annotations

import datetime as _dt
import json
import math
from typing import Annotated, Any, ClassVar, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from ..errors import SpecError, Text, problems
from .table import Columns


ANY = "$any"  # "any event" in specs that take an event name


DATE_MIN, DATE_MAX = _dt.date(1970, 1, 1), _dt.date(2100, 12, 31)


def _duration_text(v):
    from ..model.durations import parse_duration

    if v is None or v == "":
        return None
    parse_duration(v)  # an error names what a duration looks like
    return str(v)


# A spec field holding an optional duration (``30m``, ``7d``; None or "" for none), checked, kept as its text.
OptionalDuration = Annotated[Optional[str], BeforeValidator(_duration_text)]


class Spec(BaseModel):
    """Base of analysis specs: frozen, strict about unknown fields, round-trips through JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str] = "analysis"

    @model_validator(mode="after")
    def _date_range(self):
        # Every spec with an inclusive date range gets the same check.
        first, last = getattr(self, "date_from", None), getattr(self, "date_to", None)
        for name, d in (("date_from", first), ("date_to", last)):
            if d is not None and not DATE_MIN <= d <= DATE_MAX:  # events are stored between these too
                raise ValueError(Text("base.expected_date_between", name=name, DATE_MIN=DATE_MIN, DATE_MAX=DATE_MAX, d=d))
        if first and last and first > last:
            raise ValueError(Text("base.date_from_after_date"))
        return self

    @classmethod
    def parse(cls, data: dict | str) -> "Spec":
        try:
            if isinstance(data, str):
                try:
                    data = json.loads(data)
                except json.JSONDecodeError as exc:
                    raise SpecError(key="base.invalid_valid_json", __name__=cls.__name__, exc=exc) from None
            if not isinstance(data, dict):
                raise SpecError(key="base.invalid_expected_json_object", __name__=cls.__name__)
            if "kind" in data:  # specs saved with to_json() carry their kind
                data = dict(data)
                kind = data.pop("kind")
                if kind != cls.kind:
                    raise SpecError(key="base.spec", kind=kind, kind2=cls.kind)
            return cls.model_validate(data)
        except ValidationError as exc:
            raise spec_error(cls, exc) from None

    @classmethod
    def build(cls, **kwargs) -> "Spec":
        return cls.parse({k: v for k, v in kwargs.items() if v is not None})

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, **self.model_dump(mode="json")}, ensure_ascii=False)


def spec_error(cls, exc: ValidationError) -> SpecError:
    """The first problems of a spec that failed validation, each naming its field and what was expected."""
    kind = getattr(cls, "kind", None)
    return SpecError(key="spec.invalid", spec=cls.__name__, kind=Text(f"spec.kind.{kind}") if kind else cls.__name__,
                     problems=problems(exc.errors()))


def clean(value: Any) -> Any:
    """JSON-safe value: NaN/inf become None, dates ISO strings, numpy scalars Python ones."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float):
        return None if (math.isnan(value) or math.isinf(value)) else value
    if isinstance(value, _dt.date):  # dates, datetimes and pandas Timestamps (a datetime subclass)
        return None if _is_nat(value) else value.isoformat()
    if type(value).__name__ == "NaTType":
        return None
    return value


def _is_nat(value) -> bool:
    return type(value).__name__ == "NaTType"


def ratio(num, den):
    """num / den, or None when the denominator is 0 or missing (shown as n/a, never inf/NaN)."""
    if num is None or den in (None, 0) or (isinstance(den, float) and math.isnan(den)):
        return None
    out = num / den
    return None if (isinstance(out, float) and (math.isnan(out) or math.isinf(out))) else out


def local_date_filter(engine, t, date_from, date_to):
    """Events of ``t`` whose local date (workspace zone) is within the inclusive range (``None``: open)."""
    if date_from is None and date_to is None:
        return t
    day = engine.local_ts(t.ts).date()
    if date_from is not None:
        t = t.filter(day >= date_from)
    if date_to is not None:
        t = t.filter(day <= date_to)
    return t


def pct_change(current, previous):
    r = ratio(None if current is None or previous is None else current - previous, previous)
    return r


class Result:
    """A computed analysis: tabular ``frame`` plus metadata.

    Turns into a pandas DataFrame, an Arrow table, a JSON-able dict and a
    Plotly chart, so it is as handy in a notebook as in a terminal. The table may be given as a pandas
    DataFrame or as :class:`~yunying.analyses.table.Columns` (no pandas import until ``frame`` is read:
    records, JSON and CSV are written from the columns).
    """

    kind = "result"
    rows_key = "rows"

    def __init__(self, spec: Spec | None, frame, meta: dict | None = None):
        self.spec = spec
        self.frame = frame
        self.meta = meta or {}

    @property
    def frame(self):
        """The table as a pandas DataFrame (built from the columns on first use)."""
        if isinstance(self._frame, Columns):
            self._frame = self._frame.to_pandas()
        return self._frame

    @frame.setter
    def frame(self, value) -> None:
        self._frame = value

    @property
    def table(self) -> Columns:
        """The table as :class:`~yunying.analyses.table.Columns` (results built that way; else from the frame)."""
        if isinstance(self._frame, Columns):
            return self._frame
        return Columns({c: self._frame[c].tolist() for c in self._frame.columns})

    @property
    def columns(self) -> list[str]:
        """The table's column names (no DataFrame built)."""
        return self._frame.columns if isinstance(self._frame, Columns) else list(self._frame.columns)

    def __len__(self) -> int:
        return len(self._frame)

    def to_pandas(self):
        return self.frame.copy()

    def to_arrow(self):
        import pyarrow as pa

        return pa.Table.from_pandas(self.frame, preserve_index=False)

    def records(self) -> list[dict]:
        if isinstance(self._frame, Columns):
            return [clean(r) for r in self._frame.rows()]
        return [clean(r) for r in self.frame.to_dict(orient="records")]

    def to_dict(self) -> dict:
        out = {"kind": self.kind}
        if self.spec is not None:
            out["spec"] = self.spec.model_dump(mode="json")
        out.update(clean(self.meta))
        out[self.rows_key] = self.records()
        return out

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def to_csv(self) -> str:
        """CSV of the frame; list/dict cells are written as JSON so the file stays one value per cell."""
        if isinstance(self._frame, Columns):
            cols = self._frame
            if any(isinstance(v, (list, tuple, dict)) for vals in cols.data.values() for v in vals):
                cols = Columns({k: [json.dumps(clean(v), ensure_ascii=False) if isinstance(v, (list, tuple, dict))
                                    else v for v in vals] for k, vals in cols.data.items()},
                               object_dtype=cols.object_dtype)
            return cols.to_csv()
        frame = self.frame.copy()
        for col in frame.columns:
            if frame[col].map(lambda v: isinstance(v, (list, tuple, dict))).any():
                frame[col] = frame[col].map(
                    lambda v: json.dumps(clean(v), ensure_ascii=False) if isinstance(v, (list, tuple, dict)) else v)
        return frame.to_csv(index=False)

    def chart(self):  # pragma: no cover - overridden
        import plotly.express as px

        return px.bar(self.frame)

    def _repr_html_(self) -> str:
        return self.frame.to_html(index=False)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self.frame)} rows>\n{self.frame.head(20).to_string(index=False)}"


def refuse_all_none(by: str, values, what: str) -> None:
    """A breakdown by a property that none of the counted events has would put everything in "(none)": an
    option that cannot apply is an error (docs/definitions.md), naming the property and the events."""
    values = list(values)
    if values and all(v == "(none)" for v in values):
        raise SpecError(key="base.by_property_set_on", by=by, what=what)
