"""Reading and validating user files into typed staging tables (DuckDB SQL).

Every file is read, mapped to canonical columns and checked row by row
before anything is written; the caller inserts the staged rows in one
transaction, so a file with a bad row imports nothing.
"""
from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..errors import InputFileError, Lines, Text, ValidationError, keys
from . import readers, typing
from .mapping import map_columns
from .readers import ReadOptions
from .schema import Column

MAX_EXAMPLES = 5

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "FLOAT", "DOUBLE", "REAL")


def expand_paths(patterns: list[str] | tuple[str, ...]) -> list[str]:
    """Expand globs; every pattern must match at least one file."""
    files: list[str] = []
    for pat in patterns:
        pat = os.path.expanduser(str(pat))
        if any(ch in pat for ch in "*?["):
            found = sorted(glob.glob(pat, recursive=True))
            found = [f for f in found if os.path.isfile(f)]
            if not found:
                raise InputFileError(key="ingest.no_file_matches_this", pat=pat)
            files.extend(found)
        elif os.path.isdir(pat):
            found = sorted(
                str(p) for p in Path(pat).rglob("*") if p.is_file() and detect_format(str(p), strict=False)
            )
            if not found:
                raise InputFileError(key="ingest.folder_has_no_csv", pat=pat)
            files.extend(found)
        else:
            if not os.path.isfile(pat):
                raise InputFileError(key="ingest.no_such_file", pat=pat)
            files.append(pat)
    return files


def detect_format(path: str, strict: bool = True) -> str | None:
    name = path.lower()
    if not strict and os.path.basename(name).startswith("~$"):  # Excel's lock file beside an open workbook
        return None
    if name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if name.endswith(".xls") and strict:
        raise readers.xlsx_unsupported(path)
    if name.endswith(".gz"):
        name = name[:-3]
    for ext, fmt in ((".parquet", "parquet"), (".pq", "parquet"), (".csv", "csv"), (".tsv", "csv"),
                     (".txt", "csv"), (".dat", "csv"), (".prn", "csv"), (".jsonl", "json"), (".ndjson", "json"),
                     (".json", "json")):
        if name.endswith(ext):
            return fmt
    if strict:
        raise InputFileError(key="ingest.unknown_file_type_expected", path=path)
    return None


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class StagedFile:
    path: str
    table: str
    rows: int
    mapping: dict[str, str]


def _source_sql(path: str, read: ReadOptions | None = None) -> str:
    """The scan of a file (``model/readers.py``: encodings, delimiters, Excel sheets)."""
    return readers.open_source(path, detect_format(path), read).sql


def _ragged_line(path: str) -> str | None:
    """On the error path only: the first CSV line whose field count differs from the header's."""
    import csv
    import gzip

    src = readers.current(path)
    if src is None or src.fmt != "csv":
        return None
    delim, data = ("\t" if src.delimiter == readers.WHITESPACE else src.delimiter), src.data_path
    opener = gzip.open if data.lower().endswith(".gz") else open
    try:
        with opener(data, "rt", encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter=delim)
            header = next(reader, None)
            if header is None:
                return None
            for row in reader:
                if row and len(row) != len(header):
                    sep = "whitespace" if src.delimiter == readers.WHITESPACE else repr(delim)
                    return (f"line {reader.line_num} has {len(row)} field(s) but the header has {len(header)} "
                            f"({sep}-separated)")
    except (UnicodeDecodeError, csv.Error):
        return None
    return None


def _bad_json_line(path: str) -> str | None:
    """On the error path only: the first JSON Lines record that does not parse as a JSON object."""
    import gzip
    import json

    data = getattr(readers.current(path), "data_path", path)
    opener = gzip.open if data.lower().endswith(".gz") else open
    try:
        with opener(data, "rt", encoding="utf-8") as fh:
            first = fh.read(1)
            if first == "[":  # a JSON array, not JSON Lines: let the parser's message stand
                return None
            fh.seek(0)
            for no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    return f"line {no} is not valid JSON ({exc.msg} at column {exc.colno})"
                if not isinstance(obj, dict):
                    return f"line {no} is not a JSON object"
    except UnicodeDecodeError:
        return "not valid UTF-8 text. Save the file as UTF-8."
    return None


def read_error(path: str, exc: Exception) -> InputFileError:
    text = str(exc)
    low = text.lower()
    if "invalid unicode" in low or "not utf-8" in low or "utf8" in low:
        where = readers.bad_text_line(path) or "not valid UTF-8 text"
        return InputFileError(key="ingest.name_its_encoding_with", path=path, where=where)
    if detect_format(path) == "csv":
        ragged = _ragged_line(path)
        if ragged:
            return InputFileError(key="ingest.every_row_needs_one", path=path, ragged=ragged)
    if detect_format(path) == "json":
        bad = _bad_json_line(path)
        if bad:
            return InputFileError(key="ingest.message", path=path, bad=bad)
    where = next((ln.strip() for ln in text.splitlines() if "line" in ln.lower() and "error" in ln.lower()), "")
    first = text.splitlines()[0] if text else type(exc).__name__
    detail = first if not where or where in first else f"{first} ({where})"
    return InputFileError(key="ingest.cannot_read_as", path=path, value=detect_format(path), detail=detail)


def describe_source(con: duckdb.DuckDBPyConnection, path: str, read: ReadOptions | None = None,
                    schema: tuple[Column, ...] = ()) -> tuple[str, dict[str, str]]:
    """The SQL that scans a file, and its columns with DuckDB types (nothing is loaded). ``read.event``
    adds the constant event column (for a ``schema`` with an ``event`` column)."""
    if os.path.getsize(path) == 0:
        raise InputFileError(key="ingest.file_empty_expected_header", path=path)
    src = _source_sql(path, read)
    try:
        cols = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
    except duckdb.Error as exc:
        raise read_error(path, exc) from None
    event = next((c for c in schema if c.name == "event"), None)
    if event is None:
        return src, {c[0]: c[1] for c in cols}
    return readers.with_event(path, src, {c[0]: c[1] for c in cols}, read, (event.name, *event.aliases))


def trimmed(text: str) -> str:
    """SQL: the text value without leading / trailing spaces, NULL when that leaves nothing. Exactly
    ``NULLIF(trim(x), '')``, at half the cost: ``trim`` removes only the Unicode space separators (U+0020 and
    code points above U+007F), so a value whose first and last characters are neither is already trimmed.
    The guard is ordered cheapest first: a first character below "!" (a space, a control character, an empty
    value) or from U+0080 on (a non-ASCII character): two comparisons of bytes (binary order) that DuckDB answers from the
    4-byte prefix it keeps inline; a trailing space; and only for a value holding a non-ASCII character (byte
    length differs from character length) its last character, which needs a walk through the UTF-8 text. A
    value the guard sends to ``trim`` needlessly costs time, never a different value. The empty value is below
    "!", so a value the guard passes is not empty: it is kept as it is, without a ``NULLIF`` (about 1 CPU s less
    at 100M events)."""
    v = f"CAST({text} AS VARCHAR)"  # a JSON column compares as text (not by parsing '!' as JSON); free on text
    edge = (f"{v} < '!' OR {v} >= chr(128) OR ends_with({v}, ' ') "
            f"OR (strlen({v}) <> length({v}) AND ascii({v}[-1]) > 127)")
    return f"CASE WHEN {edge} THEN NULLIF(trim({text}), '') ELSE {v} END"


def _typed_expr(col: Column, src: str, src_type: str, import_tz: str,
                checked: bool = False) -> tuple[str, str | None]:
    """SQL converting the source column to the canonical type, and a bad-value condition (``checked``: the
    caller refuses rows meeting it before it uses the value)."""
    s = _q(src)
    t = src_type.upper()
    is_text = t.startswith("VARCHAR") or t == "JSON"
    if is_text:
        raw = trimmed(s)
    else:
        raw = s
    if col.kind == "string":
        if is_text:
            return raw, None
        if t.startswith("STRUCT") or t.startswith("MAP") or t.endswith("[]"):
            return f"CAST(to_json({s}) AS VARCHAR)", None
        return f"CAST({s} AS VARCHAR)", None
    if col.kind in ("float", "int"):
        return _number_expr(col, s, t, raw, is_text)
    if col.kind == "date":
        if t == "DATE":
            expr = s
        elif t.startswith("TIMESTAMP"):
            expr = f"CAST({s} AS DATE)"
        else:
            expr = typing.sql_text_date(raw if is_text else f"CAST({s} AS VARCHAR)")
        return expr, f"{raw} IS NOT NULL AND ({expr} IS NULL OR NOT {typing.sql_date_in_range(expr)})"
    if col.kind == "timestamp":
        expr = _timestamp_expr(s, t, raw, is_text, _lit(import_tz))
        return expr, f"{raw} IS NOT NULL AND ({expr} IS NULL OR NOT {typing.sql_in_range(expr)})"
    if col.kind == "json":
        if t.startswith("STRUCT") or t.startswith("MAP"):
            return f"CAST(to_json({s}) AS VARCHAR)", None
        if t == "JSON":
            expr = f"CAST({s} AS VARCHAR)"
        else:
            expr = raw
        bad = f"{expr} IS NOT NULL AND {not_an_object(expr)}"
        return (expr if checked else f"CASE WHEN json_valid({expr}) THEN {expr} END"), bad
    raise AssertionError(col.kind)


def not_an_object(text: str) -> str:
    """SQL: the (non-NULL) text is not a JSON object. Valid JSON starting with "{" is an object, so json_type
    parses again only the rest; it is given valid JSON only (DuckDB evaluates both sides of AND / OR, and
    json_type raises on malformed text)."""
    return (f"(NOT json_valid({text}) OR (NOT starts_with({text}, '{{') AND "
            f"json_type(CASE WHEN json_valid({text}) THEN {text} END) <> 'OBJECT'))")


def _number_expr(col: Column, s: str, t: str, raw: str, is_text: bool) -> tuple[str, str | None]:
    target = "DOUBLE" if col.kind == "float" else "BIGINT"
    if t == "BOOLEAN":
        return f"CAST({s} AS {target})", None
    if t in ("FLOAT", "DOUBLE", "REAL"):
        # NaN and ±inf are not amounts: reject them like any other unparseable value.
        expr = typing.sql_finite(s, target)
        return expr, f"{s} IS NOT NULL AND ({expr}) IS NULL"
    if t in _NUMERIC or t.startswith("DECIMAL"):
        expr = f"TRY_CAST({s} AS {target})"
        return expr, f"{s} IS NOT NULL AND {expr} IS NULL"
    num = f"TRY_CAST(replace({raw}, ',', '') AS DOUBLE)" if is_text else f"TRY_CAST({s} AS DOUBLE)"
    expr = typing.sql_finite(num, target)
    if col.kind == "int":  # a count must be whole: 12.5 clicks is an error, not 12 or 13
        expr = f"CASE WHEN isfinite({num}) AND {num} = round({num}) THEN TRY_CAST({num} AS BIGINT) END"
    return expr, f"{raw} IS NOT NULL AND ({expr}) IS NULL"


def _timestamp_expr(s: str, t: str, raw: str, is_text: bool, tz: str) -> str:
    """SQL: the stored (UTC) timestamp of a source column (typing rules in ``model/typing.py``)."""
    if t == "TIMESTAMP WITH TIME ZONE":
        # timezone('UTC', x) goes through ICU for every value (≈ 0.1 µs, 10 CPU s at 100M events); a
        # TIMESTAMPTZ already holds the UTC microseconds, so rebuilding the naive time from them is the same
        # value at a twentieth of the cost. ±infinity have no microseconds: they (and NULL) take the slow path.
        return f"coalesce(make_timestamp(epoch_us({s})), timezone('UTC', {s}))"
    if t.startswith("TIMESTAMP") or t == "DATE":
        if tz == "'UTC'":  # the wall-clock time already is UTC: no conversion (the same value, without ICU)
            return f"CAST({s} AS TIMESTAMP)"
        return f"timezone('UTC', timezone({tz}, CAST({s} AS TIMESTAMP)))"
    if t in _NUMERIC or t.startswith("DECIMAL"):
        return typing.sql_number_ts(f"CAST({s} AS DOUBLE)", tz)
    txt = raw if is_text else f"CAST({s} AS VARCHAR)"
    return f"COALESCE({typing.sql_number_ts(f'TRY_CAST({txt} AS DOUBLE)', tz)}, {typing.sql_text_ts(txt, tz)})"


_EXPECT = {
    "float": typing.EXPECT_NUMBER,
    "int": "a whole number",
    "date": typing.EXPECT_DATE,
    "timestamp": typing.EXPECT_TIMESTAMP,
    "json": "a JSON object such as {\"key\": \"value\"}",
}


@dataclass
class TypedSource:
    """A file's scan mapped and typed to canonical columns (nothing read yet): ``select`` types each column,
    ``problem_sql`` is the text of a row's problems (empty when none), ``bad_sql`` the same as a condition."""
    path: str
    src: str
    types: dict[str, str]
    mapping: dict[str, str]
    schema: tuple[Column, ...]
    select: list[str]
    problem_sql: str
    bad_sql: str


def typed_source(con: duckdb.DuckDBPyConnection, path: str, schema: tuple[Column, ...], *,
                 explicit_mapping: dict[str, str] | None, import_tz: str, extras_to: str | None = "properties",
                 read: ReadOptions | None = None, columns: set[str] | None = None,
                 checked: bool = False) -> TypedSource:
    """Describe, map and type ``path`` against ``schema`` (see :func:`stage_file` for ``extras_to`` and
    ``columns``). ``checked``: the caller refuses every row ``bad_sql`` flags before it uses a value, so value
    expressions may skip re-checking what ``bad_sql`` already checked."""
    src, types = describe_source(con, path, read, schema)
    mapping = map_columns(list(types), schema, explicit_mapping, file=path)
    src, types, mapping = readers.lift_properties(con, path, src, types, mapping, schema, explicit_mapping)
    if columns is not None:
        schema = tuple(c for c in schema if c.name in columns)
        mapping = {k: v for k, v in mapping.items() if k in columns}
        types = {k: v for k, v in types.items() if k in mapping.values()}
        extras_to = None
    elif extras_to is None:
        readers.note_unused(path, types, mapping)
    select, problem_sql, bad_sql = _typed_select(schema, mapping, types, import_tz, extras_to, checked)
    return TypedSource(path, src, types, mapping, schema, select, problem_sql, bad_sql)


def stage_file(
    con: duckdb.DuckDBPyConnection,
    path: str,
    schema: tuple[Column, ...],
    *,
    explicit_mapping: dict[str, str] | None,
    import_tz: str,
    staged_table: str,
    extras_to: str | None = "properties",
    row_checks: list[tuple[str, str]] | None = None,
    file_no: int = 0,
    skip: str | None = None,
    read: ReadOptions | None = None,
    columns: set[str] | None = None,
) -> StagedFile:
    """Scan ``path`` once, mapping and typing its columns into ``staged_table``; raise on bad rows.

    ``row_checks`` are extra (SQL condition on typed columns, message) pairs. Columns that map to
    nothing are folded into the ``extras_to`` JSON column. Row numbers are computed only when
    something is wrong (a second scan), so the common path streams. ``skip``: SQL over the source's columns
    of rows that are not staged (e.g. 神策 profile records in an events file); then no rows is not an error.
    ``columns``: stage (read, type and check) only these canonical columns — the file's columns are still
    mapped against the whole ``schema``, so each lands where a full import puts it; nothing is folded into
    ``extras_to``.
    """
    typed = typed_source(con, path, schema, explicit_mapping=explicit_mapping, import_tz=import_tz,
                         extras_to=extras_to, read=read, columns=columns)
    schema, src, select, problem_sql = typed.schema, typed.src, typed.select, typed.problem_sql
    con.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {staged_table} ("
        + ", ".join(f"{c.name} {c.sql_type}" for c in schema)
        + ", __file INTEGER, __problem VARCHAR)"
    )
    names = ", ".join(c.name for c in schema)
    try:
        nrows = con.execute(
            f"INSERT INTO {staged_table} ({names}, __file, __problem) "
            f"SELECT {', '.join(select)}, {file_no}, NULLIF({problem_sql}, '') FROM {src}"
            + (f" WHERE NOT coalesce(({skip}), false)" if skip else "")
        ).fetchall()[0][0]
    except duckdb.Error as exc:
        raise read_error(path, exc) from None
    if nrows == 0 and not skip:
        raise InputFileError(key="ingest.file_has_no_data", path=path)
    typed_cond = " OR ".join(f"({cond})" for cond, _ in row_checks or []) or "FALSE"
    bad_count = con.execute(
        f"SELECT count(*) FROM {staged_table} WHERE __file = {file_no} AND (__problem IS NOT NULL OR {typed_cond})"
    ).fetchall()[0][0]
    if bad_count:
        raise _invalid_rows(con, path, src, select, problem_sql, row_checks or [], bad_count, nrows, skip)
    return StagedFile(path=path, table=staged_table, rows=nrows, mapping=typed.mapping)


def invalid_rows(con: duckdb.DuckDBPyConnection, typed: TypedSource, row_checks: list[tuple[str, str]],
                 skip: str | None = None) -> ValidationError | None:
    """The error for ``typed``'s bad rows (counts, the first examples with row numbers; two scans of the file),
    or None when it has none: the error path of a caller that refused a row without naming it."""
    typed_cond = " OR ".join(f"({cond})" for cond, _ in row_checks) or "FALSE"
    names = ", ".join(c.name for c in typed.schema)
    nrows, bad_count = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE __bad OR {typed_cond}) FROM (SELECT {', '.join(typed.select)}, "
        f"coalesce({typed.bad_sql}, false) AS __bad FROM {typed.src}"
        + (f" WHERE NOT coalesce(({skip}), false)" if skip else "") + f") AS t ({names}, __bad)"
    ).fetchall()[0]
    if not bad_count:
        return None
    return _invalid_rows(con, typed.path, typed.src, typed.select, typed.problem_sql, row_checks, bad_count,
                         nrows, skip)


def _typed_select(schema: tuple[Column, ...], mapping: dict[str, str], types: dict[str, str], import_tz: str,
                  extras_to: str | None, checked: bool = False) -> tuple[list[str], str, str]:
    """The SELECT list typing each canonical column (unmapped columns folded into ``extras_to``), the SQL
    of a row's problems (empty text when none) and the same as a condition (``checked``: see ``typed_source``)."""
    select: list[str] = []
    checks: list[tuple[str, str]] = []
    for col in schema:
        src_col = mapping.get(col.name)
        if src_col is None:
            select.append(f"CAST(NULL AS {col.sql_type}) AS {col.name}")
            continue
        expr, bad = _typed_expr(col, src_col, types[src_col], import_tz, checked)
        select.append(f"CAST({expr} AS {col.sql_type}) AS {col.name}")
        if bad:
            label = src_col.replace("'", "''")
            checks.append((bad, f"{col.name} (column \"{label}\"): expected {_EXPECT[col.kind]}, got \"' || "
                                f"left(coalesce(CAST({_q(src_col)} AS VARCHAR), 'null'), 60) || '\""))
    extras = [c for c in types if c not in mapping.values()]
    if extras_to and extras:
        pack = ", ".join(f"{_q(c)} := {_q(c)}" for c in extras)
        # json_merge_patch drops keys whose value is null: absent and null mean the same.
        for i, sel in enumerate(select):
            if sel.endswith(f" AS {extras_to}"):
                base = sel[: -len(f" AS {extras_to}")]
                select[i] = (f"CAST(json_merge_patch(COALESCE({base}, '{{}}'), to_json(struct_pack({pack}))) AS VARCHAR)"
                             f" AS {extras_to}")
    problems = [f"CASE WHEN {cond} THEN '{msg}' END" for cond, msg in checks]
    conditions = [cond for cond, _ in checks]
    exprs = {col.name: sel.rsplit(" AS ", 1)[0] for col, sel in zip(schema, select)}
    for col in schema:
        if col.required:
            src_col = mapping.get(col.name)
            present = "FALSE" if src_col is None else f"NULLIF(trim(CAST({_q(src_col)} AS VARCHAR)), '') IS NOT NULL"
            missing = f"({exprs[col.name]}) IS NULL AND NOT ({present})"
            problems.append(f"CASE WHEN {missing} THEN '{col.name}: missing (expected a value)' END")
            conditions.append(missing)
    return (select, (f"concat_ws('; ', {', '.join(problems)})" if problems else "''"),
            " OR ".join(f"({c})" for c in conditions) or "FALSE")


_BAD_VALUE = re.compile(r'(?P<field>[\w/]+) \(column "(?P<column>.*?)"\): expected (?P<expected>.+?), got "(?P<value>.*)"', re.S)
_MISSING = re.compile(r"(?P<field>[\w/]+): missing \(expected a value\)")


def _row_problems(problem: str) -> list:
    """A row's problems as the SQL wrote them (English, ``; ``-separated) as catalogue sentences, the user's
    column names and values kept; a piece that is no known sentence stays as it is."""
    fixed = {str(Text(k)): Text(k) for k in (*keys("expect."), *keys("rows.check."))}
    out: list = []
    for piece in (problem or "").split("; "):
        bad, missing = _BAD_VALUE.fullmatch(piece), _MISSING.fullmatch(piece)
        if bad:
            out.append(Text("rows.bad_value", field=bad["field"], column=bad["column"],
                            expected=fixed.get(bad["expected"], bad["expected"]), value=bad["value"]))
        elif missing:
            out.append(Text("rows.missing", field=missing["field"]))
        else:
            out.append(fixed.get(piece, piece))
    return out


def _invalid_rows(con, path: str, src: str, select: list[str], problem_sql: str,
                  row_checks: list[tuple[str, str]], bad_count: int, nrows: int,
                  skip: str | None = None) -> ValidationError:
    """The error for a file with bad rows: the first examples with row (and CSV line) numbers (a second scan)."""
    extra_checks = [f"CASE WHEN {cond} THEN '{msg}' END" for cond, msg in row_checks]
    all_problems = f"concat_ws('; ', problem, {', '.join(extra_checks)})" if extra_checks else "problem"
    examples = con.execute(
        f"SELECT __row, {all_problems} AS msg FROM (SELECT row_number() OVER () AS __row, "
        f"{', '.join(select)}, NULLIF({problem_sql}, '') AS problem, coalesce(({skip or 'false'}), false) AS __skip "
        f"FROM {src}) WHERE msg <> '' AND NOT __skip ORDER BY __row LIMIT {MAX_EXAMPLES}"
    ).fetchall()
    fmt = detect_format(path)
    lines = [Text("rows.example", row=readers.row_label(path, row, fmt), problems=_row_problems(problem))
             for row, problem in examples]
    return ValidationError(
        key="rows.invalid", path=path, bad_count=bad_count, nrows=nrows, lines=Lines(lines),
        details={"file": path, "invalid_rows": bad_count, "rows": nrows,
                 "examples": [{"row": r, "problem": p} for r, p in examples]},
    )


# -- 神策 (Sensors Data) JSON Lines: profile records beside events ---------------------------------------------
SENSORS_PROFILE_TYPES = ("profile_set", "profile_set_once")


def sensors_profiles(con: duckdb.DuckDBPyConnection, path: str, import_tz: str, file_no: int,
                     read: ReadOptions | None = None) -> tuple[str, str] | None:
    """For a 神策-style JSON Lines file (records with ``type``, ``event``, ``distinct_id`` and ``properties``)
    holding profile records: ``(skip, updates)`` — SQL of the rows that are profile records (not events), and
    SQL of their profile updates (``id, key, value, set_at, once, ord``; ``profile_set_once`` is set-once).
    None for any other file. Other ``profile_*`` types are an error naming the row."""
    if detect_format(path, strict=False) != "json":
        return None
    src, types = describe_source(con, path, read)
    if not {"type", "event", "distinct_id", "properties"} <= set(types) or not types["type"].startswith("VARCHAR"):
        return None
    kinds = ", ".join(_lit(k) for k in SENSORS_PROFILE_TYPES)
    is_profile = "starts_with(\"type\", 'profile_')"
    bad = con.execute(f"SELECT r, \"type\" FROM (SELECT row_number() OVER () AS r, \"type\" FROM {src}) "
                      f"WHERE {is_profile} AND \"type\" NOT IN ({kinds}) ORDER BY r LIMIT 1").fetchall()
    if bad:
        raise InputFileError(key="ingest.row_record_type_supported", path=path, bad=bad[0][0], bad2=bad[0][1], SENSORS_PROFILE_TYPES=', '.join(SENSORS_PROFILE_TYPES))
    if not con.execute(f"SELECT count(*) FROM {src} WHERE {is_profile}").fetchall()[0][0]:
        return None
    if "time" in types:
        ts, _ = _typed_expr(Column("ts", "TIMESTAMP", "timestamp"), "time", types["time"], import_tz)
        ts = f"coalesce({ts}, CAST(timezone('UTC', now()) AS TIMESTAMP))"
    else:
        ts = "CAST(timezone('UTC', now()) AS TIMESTAMP)"
    props = "to_json(s.properties)" if not types["properties"].startswith("VARCHAR") else "CAST(s.properties AS JSON)"
    updates = (f"SELECT CAST(s.distinct_id AS VARCHAR) AS id, j.key, CAST(j.value AS VARCHAR) AS value, "
               f"CAST(s.__ts AS TIMESTAMP) AS set_at, s.\"type\" = 'profile_set_once' AS once, "
               f"{file_no} * 1099511627776 + s.__r AS ord FROM (SELECT row_number() OVER () AS __r, {ts} AS __ts, * "
               f"FROM {src}) s, json_each({props}) j WHERE starts_with(s.\"type\", 'profile_') "
               "AND json_type(" + props + ") = 'OBJECT'")
    return is_profile, updates
