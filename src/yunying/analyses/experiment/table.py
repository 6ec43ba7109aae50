"""An experiment from a per-unit table (CSV, Parquet, JSON Lines or a DataFrame)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ...errors import InputFileError, SpecError, Text, ValidationError
from ...stats import (ProportionStats, QuantileStats, RatioStats, RegressionAdjustedStats, SampleMeanStats,
                      messages as M)
from .core import CUPED_NOT_APPLIED, _infer_type, _variant_order, analyze_stats
from .result import ExperimentResult
from .spec import ExperimentSpec, _coerce_spec

def read_table(source: Any) -> tuple[pd.DataFrame, str]:
    """Read a CSV / TSV / Parquet / JSON-lines file (or take a DataFrame /
    Arrow table) into pandas. Returns ``(frame, label)``."""
    if isinstance(source, pd.DataFrame):
        return source.copy(), "<dataframe>"
    if hasattr(source, "to_pandas") and not isinstance(source, (str, Path)):
        return source.to_pandas(), "<table>"
    path = Path(source)
    label = str(source)
    if not path.exists():
        raise InputFileError(key="experiment.table.file_found", label=label)
    if path.is_dir():
        raise InputFileError(key="experiment.table.directory_table_file", label=label)
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix.lower() in (".gz", ".zst") else path.suffix.lower()
    import duckdb

    con = duckdb.connect()
    try:
        if suffix.startswith((".parquet", ".pq")):
            rel = con.read_parquet(str(path))
        elif suffix.startswith((".jsonl", ".ndjson", ".json")):
            rel = con.read_json(str(path))
        elif suffix.startswith((".csv", ".tsv", ".txt")) or suffix == "":
            rel = con.read_csv(str(path))
        else:
            raise InputFileError(key="experiment.table.unsupported_file_type_use", label=label, suffix=path.suffix)
        return rel.df(), label
    except InputFileError:
        raise
    except Exception as exc:  # duckdb errors
        raise InputFileError(key="experiment.table.could_read_file", label=label, exc=str(exc).splitlines()[0]) from None
    finally:
        con.close()


_TRUE = {"true", "t", "yes", "y"}
_FALSE = {"false", "f", "no", "n"}


def _numeric_column(df: pd.DataFrame, col: str, label: str, what: Text) -> np.ndarray:
    if col not in df.columns:
        raise InputFileError(key="experiment.table.column_not_found", label=label, what=what, col=col,
                             columns=", ".join(map(str, df.columns)), details={"file": label, "column": col})
    s = df[col]
    if s.dtype == bool or str(s.dtype) == "boolean":
        return s.astype("float64").to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64").to_numpy(dtype=float, na_value=np.nan)
    nonnull = s.dropna()
    low = nonnull.astype(str).str.strip().str.lower()
    if len(low) and low.isin(_TRUE | _FALSE).all():
        out = np.full(len(s), np.nan)
        mask = s.notna().to_numpy()
        out[mask] = low.isin(_TRUE).to_numpy().astype(float)
        return out
    conv = pd.to_numeric(s, errors="coerce")
    bad = s.notna() & conv.isna()
    if bad.any():
        examples = ", ".join(repr(x) for x in s[bad].astype(str).unique()[:3])
        raise InputFileError(key="experiment.table.column_numeric_values_like", label=label, what=what, col=col, examples=examples,
                             details={"file": label, "column": col})
    return conv.astype("float64").to_numpy()


def _variant_strings(s: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(s) and s.dropna().apply(float.is_integer).all():
        s = s.astype("Int64")
    out = s.astype("string")
    return out


def _where(positions: Sequence[int], label: str, limit: int = 5) -> str:
    """``rows 1, 2 (lines 2, 3)``: data rows counted from 1; a CSV file's line numbers too."""
    rows = [int(p) + 1 for p in positions[:limit]]
    more = ", …" if len(positions) > limit else ""
    text = "rows " + ", ".join(map(str, rows)) + more
    if any(ext in label.lower() for ext in (".csv", ".tsv", ".txt")):
        text += " (lines " + ", ".join(str(r + 1) for r in rows) + more + ")"
    return text


def _unit_examples(units: pd.Series, ids: Sequence[Any], label: str, limit: int = 3) -> str:
    parts = [f"{u!r} on {_where(np.flatnonzero((units == u).fillna(False).to_numpy()), label)}" for u in ids[:limit]]
    return "; ".join(parts)


def _check_units(df: pd.DataFrame, col: str, variants: pd.Series, keep: np.ndarray, label: str,
                 messages: list, excluded: dict) -> np.ndarray:
    """Units must be unique: a unit in two variants is excluded and counted; a column whose every
    unit is in two variants, or a unit with several rows in one variant, is an error."""
    details = {"file": label, "column": col}
    units = df[col].astype("string")
    empty = units.isna().to_numpy() & keep
    if empty.any():
        raise ValidationError(key="experiment.table.unit_column_empty_on", label=label, col=col, value=_where(np.flatnonzero(empty), label), details=details)
    sub = pd.DataFrame({"u": units[keep], "v": variants[keep]})
    nvar = sub.groupby("u")["v"].nunique()
    multi = nvar[nvar > 1].index
    if len(multi):
        ex = _unit_examples(units, list(multi), label)
        if len(multi) == len(nvar):
            raise ValidationError(
                key="experiment.table.unit_column_unique_all", label=label, col=col, n_multi=len(multi), ex=ex, details=details)
        excluded[M.MULTIPLE_VARIANTS] = int(len(multi))
        messages.append({"code": M.MULTIPLE_VARIANTS, "count": int(len(multi)),
                         "message": f"{len(multi)} units seen in more than one variant were excluded (e.g. {ex})"})
        keep = keep & ~units.isin(multi).to_numpy()
    dup = units[keep].duplicated(keep=False)
    if dup.any():
        ids = list(units[keep][dup].unique())
        raise ValidationError(key="experiment.table.unit_column_unique_units", label=label, col=col, n_ids=len(ids), value=_unit_examples(units, ids, label), details=details)
    return keep


def analyze_table(table: Any, spec: ExperimentSpec | dict, **overrides) -> ExperimentResult:
    """Analyse a per-unit table (path to CSV/Parquet/JSONL, DataFrame or Arrow table).

    Units seen in more than one variant are excluded and reported; several
    rows of one unit in the same variant are an error (the table must have
    one row per unit). Boolean columns (``True``/``False``) become 0/1.
    """
    spec = _coerce_spec(spec, **overrides)
    df, label = read_table(table)
    for col, what in [(spec.variant, Text("roles.variant")), (spec.unit, Text("roles.unit"))]:
        if col is not None and col not in df.columns:
            raise InputFileError(key="experiment.table.column_not_found", label=label, what=what, col=col,
                                 columns=", ".join(map(str, df.columns)), details={"file": label, "column": col})
    messages: list[dict[str, Any]] = []
    excluded: dict[str, int] = {}
    variants = _variant_strings(df[spec.variant])
    missing_variant = variants.isna()
    if missing_variant.any():
        excluded["missing_variant"] = int(missing_variant.sum())
        messages.append({"code": "missing_variant", "count": int(missing_variant.sum()),
                         "message": f"{int(missing_variant.sum())} rows without a variant were excluded"})
    keep = ~missing_variant.to_numpy()
    if not keep.any():
        raise ValidationError(key="experiment.table.variant_column_empty_on", label=label, variant=spec.variant, n_df=len(df),
                              details={"file": label, "column": spec.variant})
    if spec.unit is not None:
        keep = _check_units(df, spec.unit, variants, keep, label, messages, excluded)
    if spec.variants is not None:
        unknown = keep & ~variants.isin(spec.variants).fillna(False).to_numpy()
        if unknown.any():
            if unknown.sum() == keep.sum():
                seen = ", ".join(sorted(set(variants[keep].astype(str))))
                raise ValidationError(key="experiment.table.none_units_listed_variant", label=label, keep=int(keep.sum()), spec=', '.join(spec.variants), variant=spec.variant, seen=seen,
                                      details={"file": label, "column": spec.variant})
            excluded[M.UNKNOWN_VARIANT] = int(unknown.sum())
            messages.append({"code": M.UNKNOWN_VARIANT, "count": int(unknown.sum()),
                             "message": f"{int(unknown.sum())} units in variants not listed in 'variants' "
                                        "were excluded"})
            keep &= ~unknown
    df = df.loc[keep].reset_index(drop=True)
    variants = variants[keep].reset_index(drop=True)
    control, order = _variant_order(spec, variants.dropna().unique().tolist())
    spec = spec if spec.control == control else spec.model_copy(update={"control": control})
    vkey = variants.to_numpy(dtype=object)
    counts = {v: int((vkey == v).sum()) for v in order}
    idx = {v: np.flatnonzero(vkey == v) for v in order}

    metric_stats: dict[str, dict[str, Any]] = {}
    metric_types: dict[str, str] = {}
    cov_names: dict[str, str] = {}
    for mspec in [*spec.metrics, *spec.guardrails]:
        if mspec.is_event_based or any(vs.is_event_based for vs in mspec.value_specs()):
            raise SpecError(key="experiment.table.metric_defined_from_events", name=mspec.name)
        stats, mtype, covname = _metric_stats(df, spec, mspec, order, idx, label, messages)
        if covname:
            cov_names[mspec.name] = covname
        metric_stats[mspec.name] = stats
        metric_types[mspec.name] = mtype
    source = {"kind": "table", "table": label, "rows": int(len(df))}
    return analyze_stats(spec, order, counts, metric_stats, metric_types, messages=messages,
                         excluded=excluded, source=source, cuped_covariates=cov_names)


def _metric_stats(df: pd.DataFrame, spec: ExperimentSpec, mspec, order: list[str], idx: dict[str, np.ndarray],
                  label: str, messages: list) -> tuple[dict[str, Any], str, str | None]:
    """One metric's statistics object per variant, its type and the CUPED covariate used (if any)."""
    stats: dict[str, Any] = {}
    if mspec.type == "ratio":
        num = _numeric_column(df, mspec.numerator.column, label, Text("roles.numerator", name=mspec.name))
        den = _numeric_column(df, mspec.denominator.column, label, Text("roles.denominator", name=mspec.name))
        _note_missing(messages, mspec.name, np.isnan(num) | np.isnan(den))
        for v in order:
            stats[v] = RatioStats.from_values(num[idx[v]], den[idx[v]])
        return stats, "ratio", None
    vals = _numeric_column(df, mspec.column, label, Text("roles.metric"))
    _note_missing(messages, mspec.name, np.isnan(vals))
    by = {v: vals[idx[v]] for v in order}
    mtype = mspec.type if mspec.type != "auto" else _infer_type(by)
    if mtype == "proportion":
        fin = vals[np.isfinite(vals)]
        if fin.size and not np.all((fin == 0) | (fin == 1)):
            raise InputFileError(key="experiment.table.metric_column_declared_proportion", label=label, column=mspec.column,
                                 details={"file": label, "column": mspec.column})
    covname = spec.covariate if mspec.covariate is None else (mspec.covariate or None)
    if mtype == "quantile":
        for v in order:
            stats[v] = QuantileStats.from_values(by[v], mspec.quantile, spec.alpha)
    elif covname and mtype in ("mean", "proportion"):
        cov = _numeric_column(df, covname, label, Text("roles.covariate"))
        miss = np.isnan(cov) & np.isfinite(vals)
        if miss.any():
            messages.append({"code": M.MISSING_VALUES, "metric": mspec.name, "count": int(miss.sum()),
                             "message": f"{int(miss.sum())} units without covariate {covname!r} got the "
                                        "pooled covariate mean (CUPED stays unbiased)"})
            cov = np.where(np.isnan(cov), np.nanmean(cov) if np.isfinite(cov).any() else 0.0, cov)
        for v in order:
            stats[v] = RegressionAdjustedStats.from_values(by[v], cov[idx[v]])
        return stats, mtype, covname
    else:
        if covname and mtype not in ("mean", "proportion"):
            messages.append({"code": CUPED_NOT_APPLIED, "metric": mspec.name,
                             "message": f"CUPED applies to mean and proportion metrics, not {mtype}"})
        cls = ProportionStats if mtype == "proportion" else SampleMeanStats
        for v in order:
            stats[v] = cls.from_values(by[v])
    return stats, mtype, None


def _note_missing(messages: list, name: str, mask: np.ndarray) -> None:
    k = int(np.count_nonzero(mask))
    if k:
        messages.append({"code": M.MISSING_VALUES, "metric": name, "count": k,
                         "message": f"{k} units with a missing value were left out of metric {name!r}"})
