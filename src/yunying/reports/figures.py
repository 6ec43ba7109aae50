"""Charts for people: an analysis' Plotly figure (built in English from its result) in the reader's language,
with the presentation rules of issue 13.

* Texts (title, axis and legend titles, trace names, annotations, hover labels) are translated by the
  catalogue's ``phrase.*`` entries (longest English phrase first, whole words only) and column labels;
  what is left is the user's own data (event and channel names) — the browser test checks exactly that.
* ``$any`` is never shown: it reads "any event" in the reader's language.
* Weekly x axes tick on the Mondays the weeks start on (Plotly's default weekly ticks fall on Sundays).
* An axis whose values are all ≥ 0 (counts, users, money) starts at 0 and never shows a negative tick.
* The last period when the data end inside it is marked "incomplete" (shaded, its line segment dotted),
  so a partial week is never read as a drop.
"""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from .columns import column_label
from .i18n import MESSAGES, label, phrase, sentence_case

WEEK_MS = 7 * 24 * 3600 * 1000
PERIOD_DAYS = {"day": 1, "week": 7}
DEFAULT_COLORS = ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880"]


def _title(obj) -> str | None:
    if isinstance(obj, dict):
        return obj.get("text")
    return obj if isinstance(obj, str) else None


def _set_title(owner: dict, key: str, text: str) -> None:
    if isinstance(owner.get(key), dict):
        owner[key]["text"] = text
    else:
        owner[key] = {"text": text}


def own_name(text, lang: str) -> str:
    """A category or node: yunying's own names (``$exposure``, ``(other)``) by their label, a step number kept
    (``2. $exposure`` → ``2. 实验曝光``), other text by phrases; the user's names stay as they are."""
    if not isinstance(text, str):
        return text
    m = re.fullmatch(r"(\d+\.\s*)?(.*)", text, re.S)
    head, name = m.group(1) or "", m.group(2)
    if f"value.{name}" in MESSAGES and (name.startswith("$") or name.startswith("(")):
        return head + label(f"value.{name}", lang)
    return phrase(text, lang)


def _name(text: str, lang: str, analysis: str | None) -> str:
    """An axis or trace name: a column key (``new_users``) by its column label, other text by phrases."""
    if _is_key(text, analysis):
        return column_label(text, lang, analysis)
    return own_name(text, lang)


def _is_key(text: str, analysis: str | None) -> bool:
    return bool(re.fullmatch(r"[a-z][a-z0-9_]*", text or "")) and (
        f"col.{text}" in MESSAGES or text in MESSAGES or f"col.{analysis}.{text}" in MESSAGES)


@lru_cache(maxsize=1)
def _phrase_words() -> frozenset[str]:
    """The catalogue's phrases that are one word of ours on their own ("revenue", "attempts", "first-time")."""
    return frozenset(v[0].lower() for k, v in MESSAGES.items()
                     if k.startswith("phrase.") and re.fullmatch(r"[A-Za-z][\w-]*", v[0]))


def own_word(text, analysis: str | None = None) -> bool:
    """Whether a one-word chart name is one of yunying's words (a column or value of the catalogue, or one of its
    phrases on its own), which English writes in sentence case — not the user's event or channel name, kept as it is.

    >>> own_word("revenue"), own_word("attempts"), own_word("$exposure"), own_word("search"), own_word("purchase")
    (True, True, True, False, False)
    """
    if not isinstance(text, str) or not text or any(c.isspace() for c in text):
        return False
    return (_is_key(text, analysis) or f"value.{text}" in MESSAGES and text[:1] in "$("
            or text.lower() in _phrase_words())


def trace_label(key: str, lang: str) -> str:
    """A trace name of ours from the catalogue: its label, in English in sentence case (a label that also reads
    inside a sentence is lower case there: "during" names the trace "During")."""
    text = label(key, lang)
    return text if lang.startswith("zh") else text[:1].upper() + text[1:]


def _hover(template: str, lang: str, analysis: str | None) -> str:
    return re.sub(r"(^|<br>)([a-z][a-z0-9_]*)=", lambda m: m.group(1) + _name(m.group(2), lang, analysis) + "=",
                  template)


def translate(fig: dict, lang: str, analysis: str | None = None) -> dict:
    """Every text of a Plotly figure (as a dict) in ``lang``; changes ``fig`` in place and returns it."""
    layout = fig.setdefault("layout", {})
    if _title(layout.get("title")):
        _set_title(layout, "title", phrase(_title(layout["title"]), lang))
    for key, axis in layout.items():
        if re.fullmatch(r"[xy]axis\d*", key) and isinstance(axis, dict) and _title(axis.get("title")):
            _set_title(axis, "title", _name(_title(axis["title"]), lang, analysis))
    legend = layout.get("legend") or {}
    if _title(legend.get("title")):
        _set_title(legend, "title", _name(_title(legend["title"]), lang, analysis))
    for note in layout.get("annotations") or []:
        if note.get("text"):
            note["text"] = phrase(note["text"], lang)
    ours = set()  # the traces named by one word of ours: "Revenue", "Attempts" in English
    for i, trace in enumerate(fig.get("data") or []):
        if trace.get("name"):
            if own_word(trace["name"], analysis):
                ours.add(i)
            trace["name"] = _name(trace["name"], lang, analysis)
        if trace.get("hovertemplate"):
            trace["hovertemplate"] = _hover(trace["hovertemplate"], lang, analysis)
        bar = trace.get("colorbar") or (trace.get("marker") or {}).get("colorbar") or {}
        if _title(bar.get("title")):
            _set_title(bar, "title", _name(_title(bar["title"]), lang, analysis))
        for axis in ("x", "y"):  # categories ("week 1", $any …) in the reader's language; dates as they are
            values = trace.get(axis)
            if isinstance(values, list) and values and all(isinstance(v, str) for v in values) \
                    and not _dates(values):
                trace[axis] = [own_name(v, lang) for v in values]
        node = trace.get("node") if trace.get("type") == "sankey" else None
        if isinstance(node, dict) and isinstance(node.get("label"), list):  # paths: "2. $exposure", "2. (other)"
            node["label"] = [own_name(v, lang) for v in node["label"]]
    if lang.startswith("zh"):
        _grouped_ticks(fig)
    else:
        _sentence_titles(fig, ours)
    return fig


def _sentence_titles(fig: dict, ours: set[int] = frozenset()) -> None:
    """English titles, axis and legend titles and trace names of ours in sentence case ("Win-back list"); a
    one-word trace name only when it is one of our words (the trace numbers ``ours``): it may be the user's."""
    layout = fig.get("layout") or {}
    owners = [(layout, "title"), *[(a, "title") for k, a in layout.items()
                                   if re.fullmatch(r"[xy]axis\d*", k) and isinstance(a, dict)]]
    if isinstance(layout.get("legend"), dict):
        owners.append((layout["legend"], "title"))
    for owner, key in owners:
        if _title(owner.get(key)):
            _set_title(owner, key, sentence_case(_title(owner[key])))
    for i, trace in enumerate(fig.get("data") or []):
        name = trace.get("name")
        if isinstance(name, str) and " " in name.strip():
            trace["name"] = sentence_case(name)
        elif isinstance(name, str) and i in ours:
            trace["name"] = name[:1].upper() + name[1:]


# Plotly's default ticks abbreviate by SI prefix ("5k", "15k", "2M"), which Chinese readers do not use; the
# catalogue's formatter (format.count/number) writes 15,000: ticks do the same (trailing zeros trimmed).
GROUPED_TICKS = ",.4~f"


def _number_axes(fig: dict) -> set[str]:
    """The x/y axes on which some trace plots numbers (a histogram's count axis, explain's waterfall included)."""
    import numbers

    out: set[str] = set()
    for trace in fig.get("data") or []:
        if trace.get("type") not in (None, "scatter", "bar", "histogram", "waterfall"):
            continue
        for axis in ("x", "y"):
            values = _values(trace.get(axis))
            values = values.tolist() if hasattr(values, "tolist") else values
            name = axis + "axis" + (trace.get(axis + "axis") or axis)[1:]
            if isinstance(values, (list, tuple)) and any(
                    isinstance(v, numbers.Number) and not isinstance(v, bool) for v in values) \
                    and not any(isinstance(v, str) for v in values):
                out.add(name)
        if trace.get("type") == "histogram":  # the counts' axis
            count_axis = "x" if trace.get("orientation") == "h" else "y"
            out.add(count_axis + "axis" + (trace.get(count_axis + "axis") or count_axis)[1:])
    return out


def _grouped_ticks(fig: dict) -> None:
    """Ticks of number axes as 15,000 (not 15k); an axis with its own format (%, dates) or a log axis keeps it."""
    layout = fig.setdefault("layout", {})
    for name in _number_axes(fig):
        axis = layout.setdefault(name, {})
        if not axis.get("tickformat") and axis.get("type") not in ("log", "date", "category"):
            axis["tickformat"] = GROUPED_TICKS


def percent_axes(fig: dict) -> dict:
    """A y axis whose every trace is a rate (named ``repurchase_rate`` …, values within 0–1) ticks in percent
    (20%, not 0.2); so do a heatmap's colour scale of rates (retention) and the x axis of a histogram of a rate
    (P(alive)). Run before :func:`translate` (it reads the traces' column names)."""
    from .columns import column_kind

    layout = fig.setdefault("layout", {})
    axes: dict[str, bool] = {}
    for trace in fig.get("data") or []:
        if trace.get("type") not in (None, "scatter", "bar") or trace.get("orientation") == "h":
            continue
        name = "yaxis" + (trace.get("yaxis") or "y")[1:]
        ys = [v for v in (_values(trace.get("y")) or []) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        rate = isinstance(trace.get("name"), str) and column_kind(trace["name"], []) == "percent"
        axes[name] = axes.get(name, True) and rate and all(-1.5 <= v <= 1.5 for v in ys)
    for name, rate in axes.items():
        axis = layout.setdefault(name, {})
        if rate and not axis.get("tickformat"):
            axis["tickformat"] = ".0%"
    for trace in fig.get("data") or []:
        if trace.get("type") == "heatmap" and _percent_texts(trace.get("text")):  # retention: a colour scale of rates
            trace.setdefault("colorbar", {}).setdefault("tickformat", ".0%")
        if trace.get("type") == "histogram":  # a histogram of a rate (P(alive)) ticks its x axis in percent
            axis = layout.setdefault("xaxis" + (trace.get("xaxis") or "x")[1:], {})
            title = axis.get("title")
            text = title.get("text") if isinstance(title, dict) else title
            xs = [v for v in (_values(trace.get("x")) or []) if isinstance(v, (int, float))]
            if isinstance(text, str) and column_kind(text, []) == "percent" and xs and all(0 <= v <= 1 for v in xs):
                axis.setdefault("tickformat", ".0%")
    return fig


def _percent_texts(text) -> bool:
    """Whether a heatmap's cell texts are percentages (``"40%"``, ``""`` for an empty cell), at least one."""
    cells = [c for row in text for c in (row if isinstance(row, list) else [row])] if isinstance(text, list) else []
    return any(cells) and all(isinstance(c, str) and (not c or c.rstrip("*").endswith("%")) for c in cells)


def _values(v):
    """A trace's data as a list (Plotly 6 writes numeric arrays as ``{"dtype", "bdata"}``)."""
    if isinstance(v, dict) and "bdata" in v:
        import base64

        import numpy as np

        values = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v.get("dtype", "f8")).tolist()
        return [None if isinstance(x, float) and x != x else x for x in values]
    return v


def _dates(values) -> list[dt.date] | None:
    if not isinstance(values, list) or not values:
        return None
    out = []
    for v in values:
        if not isinstance(v, str) or not re.match(r"\d{4}-\d{2}-\d{2}", v):
            return None
        out.append(dt.date.fromisoformat(v[:10]))
    return out


def _integer_ticks(values: list) -> dict | None:
    """Ticks for an axis of whole numbers (users, orders): whole steps 1, 2, 5 × 10^k — never 11.8 users."""
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not nums or any(float(v) != int(v) for v in nums) or min(nums) < 0:
        return None
    target = max(nums) / 6 or 1
    step = next(m * 10 ** k for k in range(0, 12) for m in (1, 2, 5) if m * 10 ** k >= target)
    return {"tickmode": "linear", "tick0": 0, "dtick": step}


def _axis_values_nonnegative(fig: dict) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for trace in fig.get("data") or []:
        if trace.get("type") in ("heatmap", "sankey", "pie", "histogram") or trace.get("orientation") == "h":
            continue
        ys = _values(trace.get("y"))
        if not isinstance(ys, list):
            continue
        name = "yaxis" + (trace.get("yaxis") or "y")[1:]
        nums = [v for v in ys if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if nums:
            out[name] = out.get(name, True) and min(nums) >= 0 and len(nums) == len([v for v in ys if v is not None])
    return out


def _stacked_totals(fig: dict, axis: str) -> list:
    """Per x, the height of a stack of bars on ``axis`` (what the axis must reach when bars are stacked)."""
    totals: dict = {}
    for t in fig.get("data") or []:
        if t.get("type") == "bar" and "yaxis" + (t.get("yaxis") or "y")[1:] == axis:
            for x, y in zip(_values(t.get("x")) or [], _values(t.get("y")) or []):
                if isinstance(y, (int, float)) and not isinstance(y, bool):
                    totals[x] = totals.get(x, 0) + y
    return list(totals.values())


def _axis_rules(fig: dict) -> None:
    """Axes of values ≥ 0 from 0 with whole-number ticks for whole numbers; log axes at powers of ten."""
    layout = fig.setdefault("layout", {})
    stacked = layout.get("barmode") in ("stack", "relative")
    for axis, nonneg in _axis_values_nonnegative(fig).items():
        if nonneg and (layout.get(axis) or {}).get("type") != "log":  # a log axis has no 0
            layout.setdefault(axis, {})["rangemode"] = "tozero"
            ys = [v for t in fig.get("data") or [] if "yaxis" + (t.get("yaxis") or "y")[1:] == axis
                  and t.get("type") in (None, "scatter", "bar") for v in (_values(t.get("y")) or [])]
            if stacked and ys and all(isinstance(v, (int, float)) and float(v).is_integer() for v in ys if v is not None):
                ys = _stacked_totals(fig, axis) + [0]  # ticks for the stacks' height, not one layer's
            ticks = _integer_ticks(ys)
            if ticks:
                layout[axis].update(ticks)
    for key, axis in list(layout.items()):  # log axes: 100, 1,000, 10,000 — not "5 2 10k 5 2"
        if re.fullmatch(r"[xy]axis\d*", key) and isinstance(axis, dict) and axis.get("type") == "log":
            axis.setdefault("dtick", 1)
            axis.setdefault("tickformat", ",.6~g")


def _local_end(data_end) -> dt.datetime | None:
    """The last instant with data (local time): a day given as a date counts as whole."""
    if data_end is None:
        return None
    if isinstance(data_end, dt.datetime):
        return data_end.replace(tzinfo=None)
    return dt.datetime.combine(data_end + dt.timedelta(days=1), dt.time())


def until_text(data_end) -> str:
    """"2026-07-13" for a whole day, "2026-07-13 07:59" when the data end inside the day."""
    if isinstance(data_end, dt.datetime):
        return data_end.strftime("%Y-%m-%d %H:%M")
    return data_end.isoformat() if data_end else ""


def period_end(last: dt.date, interval: str) -> dt.date:
    """The first day after the period that starts on ``last``."""
    if interval == "month":
        return (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return last + dt.timedelta(days=PERIOD_DAYS[interval])


def incomplete(last: dt.date, interval: str | None, data_end) -> bool:
    """Whether the period starting on ``last`` ends after the data do (an hour's slack: data ending at 23:10
    count as a whole day, data ending at 08:00 do not — the last day drawn as a drop, issue 13)."""
    end = _local_end(data_end)
    if end is None or interval not in ("day", "week", "month"):
        return False
    return end + dt.timedelta(hours=1) < dt.datetime.combine(period_end(last, interval), dt.time())


def _date_ticks(layout: dict, xs: list[dt.date], interval: str) -> None:
    """Weeks (and days over a fortnight) tick on Mondays, months on the 1st, one label per tick."""
    span = (max(xs) - min(xs)).days
    if interval == "week" or (interval == "day" and span > 14):
        first = min(xs) - dt.timedelta(days=min(xs).weekday())
        step = max(1, (span // 7 + 1) // 10)
        layout.setdefault("xaxis", {}).update(tick0=first.isoformat(), dtick=WEEK_MS * step, tickformat="%Y-%m-%d")
    elif interval == "month":
        layout.setdefault("xaxis", {}).update(tick0=min(xs).replace(day=1).isoformat(), dtick="M1", tickformat="%Y-%m")


def period_rules(fig: dict, *, interval: str | None, data_end, lang: str) -> dict:
    """Monday ticks for weeks, axes from 0, and the incomplete last period marked (see the module doc).
    ``data_end``: the last day with data (a whole day) or the local time of the last event."""
    layout = fig.setdefault("layout", {})
    _axis_rules(fig)
    for trace in fig.get("data") or []:  # dates read 2026-06-01 in every language (not "Jun 1" or a Sunday)
        for axis in ("x", "y"):
            if _dates(trace.get(axis)):
                name = axis + "axis" + ((trace.get(axis + "axis") or axis)[1:])
                if trace.get("type") == "heatmap":
                    layout.setdefault(name, {})["type"] = "category"
                else:
                    layout.setdefault(name, {}).setdefault("tickformat", "%Y-%m" if interval == "month" else "%Y-%m-%d")
    xs = next((d for d in (_dates(t.get("x")) for t in fig.get("data") or []
                           if t.get("type") in (None, "scatter", "bar")) if d), None)
    if not xs or interval not in ("day", "week", "month"):
        return fig
    _date_ticks(layout, xs, interval)
    end_day = data_end.date() if isinstance(data_end, dt.datetime) else data_end
    with_data = [x for x in xs if end_day is None or x <= end_day]  # a period after the data is empty, not incomplete
    last = max(with_data) if with_data else None
    if last is None or not incomplete(last, interval, data_end):
        return fig
    end = period_end(last, interval)
    bars = any(t.get("type") == "bar" and _dates(t.get("x")) for t in fig.get("data") or [])
    # a bar stands centred on its date: the shading covers the whole bar, a line's last point onwards
    x0 = dt.datetime.combine(last, dt.time()) - (dt.datetime.combine(end, dt.time()) -
                                                  dt.datetime.combine(last, dt.time())) / 2 if bars else last
    x1 = x0 + (dt.datetime.combine(end, dt.time()) - dt.datetime.combine(last, dt.time())) if bars else end
    text = (f'{label("incomplete_period", lang)}{label("sep.open", lang)}{label("data_until", lang)} '
            f'{until_text(data_end)}{label("sep.close", lang)}')
    layout.setdefault("shapes", []).append({"type": "rect", "xref": "x", "yref": "paper", "x0": x0.isoformat(),
                                            "x1": x1.isoformat(), "y0": 0, "y1": 1, "fillcolor": "#999",
                                            "opacity": 0.12, "line": {"width": 0}, "name": "incomplete"})
    # the note is placed on the plot's right edge (where the last period is), not at the shading's date: Plotly
    # widens an axis to fit a note placed on it, which ran the axis weeks past the last bar (issue 13)
    layout.setdefault("annotations", []).append({"x": 1, "xref": "paper", "y": 1, "yref": "paper",
                                                 "text": text, "showarrow": False, "xanchor": "right",
                                                 "yanchor": "bottom", "font": {"size": 11, "color": "#666"},
                                                 "name": "incomplete"})
    _dot_tails(fig, layout, last)
    return fig


def _dot_tails(fig: dict, layout: dict, last: dt.date) -> None:
    """A line's segment into the incomplete period is dotted (a separate trace without a legend entry)."""
    colorway = ((layout.get("template") or {}).get("layout") or {}).get("colorway") or DEFAULT_COLORS
    for i, trace in enumerate(list(fig.get("data") or [])):
        if trace.get("type") in (None, "scatter") and _dates(trace.get("x")) and len(trace["x"]) >= 2 \
                and dt.date.fromisoformat(trace["x"][-1][:10]) == last:
            tail = {k: v for k, v in trace.items() if k not in ("x", "y", "customdata", "text", "hovertext")}
            trace["y"] = _values(trace.get("y"))
            if not isinstance(trace["y"], list):
                continue
            tail.update(x=trace["x"][-2:], y=trace["y"][-2:], showlegend=False, name=trace.get("name", ""),
                        meta="incomplete")
            color = (trace.get("line") or {}).get("color") or colorway[i % len(colorway)]
            trace["line"] = {**(trace.get("line") or {}), "color": color}
            tail["line"] = {**trace["line"], "dash": "dot"}
            trace["x"], trace["y"] = trace["x"][:-1], trace["y"][:-1]
            fig["data"].append(tail)
