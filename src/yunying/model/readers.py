"""Reading the files people have: text in any encoding, whitespace-separated text, Excel sheets.

``open_source(path, read)`` turns a file into a DuckDB scan (``Source.sql``) that the import staging
(``model/ingest.py``) maps, types and checks like any CSV, Parquet or JSON Lines file:

* **Text encodings** (CSV/TSV/text, JSON Lines): ``--encoding`` names one (``gbk``, ``gb18030``, ``big5``,
  ``utf-16`` …); else a byte-order mark decides, else UTF-8 when the first 4 MB are valid UTF-8, else
  GB18030 (a superset of GBK, what Excel on Chinese Windows writes). Text not in UTF-8 is decoded once
  into a UTF-8 copy (a temporary file, same lines), so row and line numbers in errors stay the file's.
* **Delimiters**: ``,`` ``\\t`` ``;`` ``|`` judged from the header line, or ``--delimiter``; a ``.txt``
  / ``.dat`` / ``.prn`` file whose header and first data line both split into the same number (≥ 2) of
  whitespace-separated fields, or ``--delimiter whitespace``, is read as columns separated by runs of
  spaces/tabs (CDNOW_master.txt style).
* **Excel** ``.xlsx``/``.xlsm``: the first visible worksheet, or ``--sheet NAME|N`` (1-based); the header
  is the first non-empty row; cells keep their Excel types (dates → timestamps, numbers → numbers, a
  column mixing kinds → text); empty rows are skipped and errors give the sheet's row numbers.
* ``--event NAME``: a constant event for a file without an event column (an order table → ``purchase``).
* Nested ``properties`` (神策/PostHog JSON Lines): keys such as ``$utm_source`` fill the typed columns by
  the rule capture uses (``mapping.property_rules``), unless the file has that column at the top level.

Temporary copies live in the system temp folder (``yunying-read-PID-*``), at most a few at a time; they are
removed when no longer cached, at exit, and by the next run after a crash.
"""
from __future__ import annotations

import atexit
import codecs
import csv
import glob
import gzip
import json
import os
import re
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from ..errors import InputFileError, Said, Text
from .mapping import norm_name, property_rules
from .schema import TYPED_PROPERTIES, Column

SNIFF_BYTES = 4 << 20
TEXT_DELIMITERS = (",", "\t", ";", "|")
WHITESPACE = "whitespace"
_WHITESPACE_EXT = (".txt", ".dat", ".prn")
_DELIMITER_NAMES = {"comma": ",", "tab": "\t", "\\t": "\t", "semicolon": ";", "pipe": "|", "space": WHITESPACE,
                    "spaces": WHITESPACE, "ws": WHITESPACE, WHITESPACE: WHITESPACE}
_CACHE_SIZE = 8       # sources (and their temporary copies) kept; staging reads one file at a time
_KNOWN_SIZE = 4096    # how files were read, for reports, after their copies are gone
_TMP_PREFIX = "yunying-read-"
_BLANKS = " \t\r\n"           # whitespace text: fields are separated by runs of spaces and tabs (not by
_FIELDS = re.compile(r"[ \t]+")  # the full-width space of Chinese text, which stays inside a value)


@dataclass(frozen=True)
class ReadOptions:
    """How to read import files (``yunying import … --sheet/--encoding/--delimiter/--event``)."""

    sheet: str | None = None      # Excel: sheet name, or its 1-based number
    encoding: str | None = None   # text: a Python codec name; None: detected
    delimiter: str | None = None  # text: one character, a name (tab, comma …) or "whitespace"; None: detected
    event: str | None = None      # events: the event name of every row of a file without an event column

    def __post_init__(self):
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise InputFileError(key="readers.encoding_unknown_encoding_expected", encoding=self.encoding) from None
        if self.delimiter is not None and _delimiter(self.delimiter) is None:
            raise InputFileError(key="readers.delimiter_expected_one_character", delimiter=self.delimiter)
        if self.event is not None and not self.event.strip():
            raise InputFileError(key="readers.event_expected_event_name")


def _delimiter(name: str) -> str | None:
    if name in _DELIMITER_NAMES:
        return _DELIMITER_NAMES[name]
    if name.lower() in _DELIMITER_NAMES:
        return _DELIMITER_NAMES[name.lower()]
    return name if len(name) == 1 and name not in "\"\r\n" else None


@dataclass
class Source:
    """A file as DuckDB scans it."""

    path: str                       # as the user gave it
    fmt: str                        # csv | parquet | json | xlsx
    sql: str                        # the scan: a table function call or a parenthesised SELECT
    data_path: str                  # the file DuckDB reads (the file itself, or a UTF-8 / typed copy)
    encoding: str | None = None     # text files: the encoding used
    delimiter: str | None = None    # csv: the delimiter (or "whitespace")
    sheet: str | None = None        # xlsx: the sheet read
    header_row: int = 1             # line / sheet row of the header
    row_map: list[int] | None = None  # xlsx: sheet row of each data row when empty rows were skipped
    notes: list[str] = field(default_factory=list)        # about the file itself (encoding, sheet …)
    stage_notes: list[str] = field(default_factory=list)  # about its last staging (lifted, unused columns)
    temp: bool = False              # data_path is a temporary copy

    def row_label(self, row: int) -> Text:
        """How an error names data row ``row`` (1-based): with the CSV line or the sheet's row number."""
        if self.fmt == "xlsx":
            n = self.row_map[row - 1] if self.row_map and row <= len(self.row_map) else self.header_row + row
            return Text("rows.sheet_row", n=n)
        if self.fmt == "csv":
            return Text("rows.csv_row", row=row, line=row + self.header_row)
        return Text("rows.row", row=row)

    def describe(self) -> dict:
        out = {"file": self.path, "format": self.fmt}
        for key in ("encoding", "delimiter", "sheet"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


_lock = threading.Lock()
_cache: "OrderedDict[tuple, Source]" = OrderedDict()
_by_path: "OrderedDict[str, Source]" = OrderedDict()


def _remember(path: str, src: Source) -> None:
    _by_path[path] = src
    _by_path.move_to_end(path)
    while len(_by_path) > _KNOWN_SIZE:
        _by_path.popitem(last=False)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def open_source(path: str, fmt: str, read: ReadOptions | None = None) -> Source:
    """The scan of ``path`` (format ``fmt`` from its name), decoded and converted as needed (cached while the
    file is unchanged)."""
    read = read or ReadOptions()
    try:
        st = os.stat(path)
    except OSError as exc:
        raise InputFileError(key="readers.cannot_read", path=path, strerror=exc.strerror) from None
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns, fmt, read)
    with _lock:
        src = _cache.get(key)
        if src is not None:
            _cache.move_to_end(key)
            _remember(path, src)
            src.stage_notes = []
            return src
    if fmt == "xlsx":
        from .sheets import read_sheet

        out = _temp_path(".parquet")
        try:
            title, header_row, row_map, note = read_sheet(path, read.sheet, out)
        except BaseException:
            _remove(out)
            raise
        src = Source(path, fmt, f"read_parquet({_lit(out)})", out, sheet=title, header_row=header_row,
                     row_map=row_map, notes=[note], temp=True)
    elif fmt == "parquet":
        src = Source(path, fmt, f"read_parquet({_lit(path)})", path)
    else:
        src = _text_source(path, fmt, read)
    with _lock:
        _cache[key] = src
        _remember(path, src)
        while len(_cache) > _CACHE_SIZE:
            _, old = _cache.popitem(last=False)
            _release(old)
    return src


def current(path: str) -> Source | None:
    """The source last opened for ``path`` (error messages use it)."""
    return _by_path.get(path)


def row_label(path: str, row: int, fmt: str) -> Text:
    src = current(path)
    if src is not None:
        return src.row_label(row)
    return Text("rows.csv_row", row=row, line=row + 1) if fmt == "csv" else Text("rows.row", row=row)


def sources(files: list[str]) -> list[dict]:
    """What was read, for the import report: format, encoding, delimiter, sheet of each file."""
    return [current(f).describe() for f in files if current(f) is not None]


def notes(files: list[str]) -> list[str]:
    """Report lines for files read in a way worth saying (another encoding, whitespace, a sheet …)."""
    out = []
    for f in files:
        src = current(f)
        if src is not None:
            out.extend(Said("import.note.file", file=f, note=getattr(n, "text", n))
                       for n in dict.fromkeys(src.notes + src.stage_notes))
    return out


# -- text ---------------------------------------------------------------------------------------------------
def _open_binary(path: str):
    return gzip.open(path, "rb") if path.lower().endswith(".gz") else open(path, "rb")


def _detect_encoding(path: str) -> tuple[str, str | None]:
    """(codec, note): a byte-order mark, else UTF-8 if the first 4 MB decode, else GB18030."""
    try:
        with _open_binary(path) as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputFileError(key="readers.cannot_read_2", path=path, exc=exc) from None
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", Said("import.note.utf16_bom")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8", None
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
    except UnicodeDecodeError:
        raise InputFileError(key="readers.text_neither_utf_8", path=path) from None
    return "gb18030", Said("import.note.gb18030_detected")


def _text_source(path: str, fmt: str, read: ReadOptions) -> Source:
    notes: list[str] = []
    if read.encoding:
        encoding = codecs.lookup(read.encoding).name
        if encoding not in ("utf-8",):
            notes.append(Said("import.note.encoding_given", encoding=read.encoding.upper()))
    else:
        encoding, note = _detect_encoding(path)
        notes += [note] if note else []
    delimiter = None
    if fmt == "csv":
        delimiter = _delimiter(read.delimiter) if read.delimiter else _detect_delimiter(path, encoding)
        if delimiter == WHITESPACE:
            notes.append(Said("import.note.spaces_given" if read.delimiter else "import.note.spaces_detected"))
    src = Source(path, fmt, "", path, encoding=encoding, delimiter=delimiter, notes=notes)
    if encoding != "utf-8" or delimiter == WHITESPACE:
        src.data_path, src.temp = _transcode(path, encoding, delimiter == WHITESPACE, ".json" if fmt == "json" else ".csv"), True
    lit = _lit(src.data_path)
    if fmt == "json":
        src.sql = f"read_json({lit}, format='auto', sample_size=-1)"
    else:
        delim = _lit("\t" if delimiter == WHITESPACE else delimiter)
        src.sql = (f"read_csv({lit}, all_varchar=true, header=true, skip=0, null_padding=false, delim={delim}, "
                   f"quote='\"', escape='\"', strict_mode=true)")
    return src


def _first_lines(path: str, encoding: str, n: int = 2) -> list[str]:
    lines: list[str] = []
    try:
        with _open_binary(path) as raw:
            text = codecs.getreader(encoding)(raw, errors="replace")
            for line in text:
                if line.strip():
                    lines.append(line.lstrip("\ufeff"))
                if len(lines) >= n:
                    break
    except OSError as exc:
        raise InputFileError(key="readers.cannot_read_2", path=path, exc=exc) from None
    return lines


def _detect_delimiter(path: str, encoding: str) -> str:
    """The delimiter judged from the header line (the sniffer can be misled by a bad row); whitespace for
    .txt-like files whose header and first row split alike on runs of spaces."""
    lines = _first_lines(path, encoding)
    head = lines[0] if lines else ""
    counts = {d: head.count(d) for d in TEXT_DELIMITERS}
    best = max(counts, key=counts.get)
    if counts[best]:
        return best
    name = path.lower().removesuffix(".gz")
    if name.endswith(_WHITESPACE_EXT) and len(lines) == 2:
        widths = {len(_FIELDS.split(line.strip(_BLANKS))) for line in lines}
        if len(widths) == 1 and widths.pop() >= 2:
            return WHITESPACE
    return ","


def _transcode(path: str, encoding: str, whitespace: bool, suffix: str) -> str:
    """A UTF-8 copy of a text file (``whitespace``: as tab-separated fields), line for line."""
    out = _temp_path(suffix)
    line_no = 0
    # ASCII-compatible encodings (UTF-8, GBK, GB18030, Big5 …) never use the byte 0x0A inside a character:
    # lines are split as bytes and decoded one by one, so an error names its exact line
    wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    try:
        with _open_binary(path) as raw, open(out, "w", encoding="utf-8", newline="") as dst:
            text = codecs.getreader(encoding)(raw, errors="strict") if wide else (b.decode(encoding) for b in raw)
            writer = csv.writer(dst, delimiter="\t", lineterminator="\n") if whitespace else None
            for line_no, line in enumerate(text, start=1):
                if line_no == 1:
                    line = line.lstrip("\ufeff")
                if writer is None:
                    dst.write(line)
                elif line.strip(_BLANKS):
                    writer.writerow(_FIELDS.split(line.strip(_BLANKS)))
                else:
                    dst.write("\n")
    except UnicodeDecodeError as exc:
        _remove(out)
        raise InputFileError(key="readers.line_valid_text_name", path=path, line_no=line_no + 1, encoding=encoding.upper(), reason=exc.reason) from None
    except OSError as exc:
        _remove(out)
        raise InputFileError(key="readers.cannot_read_2", path=path, exc=exc) from None
    return out


def bad_text_line(path: str) -> str | None:
    """On the error path only: the first line of a text file not valid in the encoding it was read in."""
    src = current(path)
    encoding = src.encoding if src is not None and src.encoding else "utf-8"
    if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")) or (src is not None and src.temp):
        return None  # a UTF-8 copy was made: decoding errors were reported while making it
    try:
        with _open_binary(path) as raw:
            for no, line in enumerate(raw, start=1):
                try:
                    line.decode(encoding)
                except UnicodeDecodeError as exc:
                    return f"line {no}: not valid {encoding.upper()} text ({exc.reason})"
    except OSError:
        return None
    return None


# -- temporary copies ---------------------------------------------------------------------------------------
def _temp_path(suffix: str) -> str:
    _sweep_once()
    fd, name = tempfile.mkstemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-", suffix=suffix)
    os.close(fd)
    return name


def _remove(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def _release(src: Source) -> None:
    """Remove a source's temporary copy; what it says about the file stays for reports."""
    if src.temp:
        _remove(src.data_path)
    src.row_map = None


def release(paths: list[str]) -> None:
    """Remove the temporary copies of these files now (the server, after each import of uploads)."""
    wanted = {os.path.abspath(p) for p in paths}
    with _lock:
        for key in [k for k in _cache if k[0] in wanted]:
            _release(_cache.pop(key))


@atexit.register
def release_all() -> None:
    """Remove every temporary copy (at exit; tests call it too)."""
    with _lock:
        while _cache:
            _release(_cache.popitem()[1])


_swept = False


def _sweep_once() -> None:
    """Remove copies left by processes that are gone (killed before their exit handler ran)."""
    global _swept
    if _swept:
        return
    _swept = True
    for name in glob.glob(os.path.join(tempfile.gettempdir(), _TMP_PREFIX + "*")):
        m = re.match(re.escape(_TMP_PREFIX) + r"(\d+)-", os.path.basename(name))
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            _remove(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


# -- after DESCRIBE: a constant event, nested properties lifted ----------------------------------------------
def events_mapping(columns: dict[str, str], mapping: dict[str, str] | None,
                   read: ReadOptions | None) -> dict[str, str]:
    """The explicit mapping of an events import: ``[columns]`` then ``--map``; ``--event`` replaces a
    ``[columns]`` event mapping and cannot be combined with ``--map event=…``."""
    explicit = {**columns, **(mapping or {})}
    if read is not None and read.event is not None:
        if "event" in (mapping or {}):
            raise InputFileError(key="readers.event_map_event_give", event=read.event, event2=mapping['event'])
        explicit.pop("event", None)
    return explicit


def with_event(path: str, sql: str, types: dict[str, str], read: ReadOptions | None,
               event_names: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """``--event NAME``: the scan with an ``event`` column holding NAME. A file that has an event column
    (``event_names``: the names that would be matched as the event) is an error naming it."""
    if read is None or read.event is None:
        return sql, types
    wanted = {norm_name(n) for n in event_names}
    clash = [c for c in types if norm_name(c) in wanted]
    if clash:
        raise InputFileError(key="readers.event_files_without_event", path=path, event=read.event, clash=clash[0])
    src = current(path)
    if src is not None:
        src.stage_notes.append(Said("import.note.event_every_row", event=read.event))
    return f"(SELECT *, {_lit(read.event.strip())} AS event FROM {sql})", {**types, "event": "VARCHAR"}


def lift_properties(con, path: str, sql: str, types: dict[str, str], mapping: dict[str, str],
                    schema: tuple[Column, ...], explicit: dict[str, str] | None = None
                    ) -> tuple[str, dict[str, str], dict[str, str]]:
    """Typed event properties nested in a JSON ``properties`` object (``$utm_source`` …) become their columns,
    by the rule capture applies (``mapping.property_rules``), for the typed columns the file has no top-level
    column for; the lifted keys leave ``properties``. Returns the scan, its types and the mapping."""
    props = mapping.get("properties")
    typed = tuple(c for c in TYPED_PROPERTIES if c in schema and c.name not in mapping)
    rules = property_rules(typed, explicit)
    if props is None or not typed or not rules:
        return sql, types, mapping
    ptype = types[props].upper()
    if ptype.startswith("STRUCT"):
        keys = [r[0] for r in con.execute(f"DESCRIBE SELECT unnest(CAST(NULL AS {types[props]}))").fetchall()]
    elif ptype.startswith("MAP") or ptype == "JSON" or (ptype == "VARCHAR" and getattr(current(path), "fmt", "") == "json"):
        pass
    else:
        return sql, types, mapping
    p = _q(props)
    if ptype.startswith(("STRUCT", "MAP")):
        j, valid = f"to_json({p})", f"{p} IS NOT NULL"
    else:  # JSON text: only objects are lifted; anything else stays for the import's own check
        j, valid = p, f"CASE WHEN json_valid({p}) THEN json_type({p}) = 'OBJECT' ELSE false END"
    if not ptype.startswith("STRUCT"):
        keys = [r[0] for r in con.execute(
            f"SELECT DISTINCT k FROM (SELECT unnest(json_keys({j})) AS k FROM {sql} WHERE {valid}) ORDER BY k"
        ).fetchall()]
    chosen: dict[str, tuple[int, str]] = {}
    for k in keys:
        rule = rules.get(norm_name(k))
        if rule and (rule[0] not in chosen or rule[1] < chosen[rule[0]][0]) and '"' not in k and "\\" not in k:
            chosen[rule[0]] = (rule[1], k)
    if not chosen:
        return sql, types, mapping
    lifted, new_types, new_mapping = [], dict(types), dict(mapping)
    for col, (_, key) in chosen.items():
        name = f"properties.{key}"
        lifted.append(f"CASE WHEN {valid} THEN json_extract_string({j}, {_lit('$.' + _q(key))}) END AS {_q(name)}")
        new_types[name] = "VARCHAR"
        new_mapping[col] = name
    patch = "{" + ",".join(f"{_json_str(k)}:null" for _, k in chosen.values()) + "}"
    # what is left, without the lifted keys and (as capture and flat files do) without null values
    rest = (f"CAST(CASE WHEN {valid} THEN json_merge_patch('{{}}', json_merge_patch({j}, {_lit(patch)})) "
            f"ELSE {'NULL' if ptype.startswith(('STRUCT', 'MAP')) else p} END AS VARCHAR) AS {p}")
    new_types[props] = "VARCHAR"
    src = current(path)
    if src is not None:
        src.stage_notes.append(Said("import.note.lifted", pairs=", ".join(f"{k} → {c}" for c, (_, k) in chosen.items())))
    return (f"(SELECT * REPLACE ({rest}), {', '.join(lifted)} FROM {sql})", new_types, new_mapping)


def note_unused(path: str, types: dict[str, str], mapping: dict[str, str]) -> None:
    """For imports that keep no other properties (spend, identities): say which columns were not imported."""
    unused = [c for c in types if c not in mapping.values()]
    src = current(path)
    if unused and src is not None:
        shown = ", ".join(unused[:12]) + (f" … ({len(unused)})" if len(unused) > 12 else "")
        src.stage_notes.append(Said("import.note.not_imported", names=shown))


def _json_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def xlsx_unsupported(path: str) -> InputFileError:
    return InputFileError(key="readers.xls_excel_97_2003", path=path)

