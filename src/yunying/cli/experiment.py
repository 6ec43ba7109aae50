"""`yunying experiment` (A/B test analysis) and `yunying plan` (sample size / MDE / duration)."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from ..errors import InputFileError, SpecError, YunyingError, text_of
from ..model.durations import window_days as _window_days

from ..reports.columns import text_value
from ..reports.format import percent, points, pvalue
from ..reports.i18n import empty, label, say
from .common import _Lang
from .common import console, open_target
from .analytics import filters_of

_KINDS = ("conversion", "count", "sum")


def _split_list(items: Optional[List[str]]) -> list[str]:
    out: list[str] = []
    for item in items or []:
        out.extend(p.strip() for p in item.split(",") if p.strip())
    return out


def _name_and_body(text: str) -> tuple[str | None, str]:
    if "=" in text:
        name, body = text.split("=", 1)
        return name.strip() or None, body.strip()
    return None, text.strip()


def parse_value(text: str, default_kind: str) -> dict[str, Any]:
    """``[KIND:]ARGS[:WINDOW]`` → a value definition.

    ``purchase``, ``purchase:14d``, ``conversion:purchase:7d``, ``count:app_open:14d``,
    ``sum:revenue:purchase:14d`` (``sum`` takes PROPERTY:EVENT).
    """
    tokens = [t.strip() for t in text.split(":") if t.strip()]
    if not tokens:
        raise SpecError(key="experiment.empty_metric_definition", text=text)
    window = None
    if len(tokens) > 1 and _window_days(tokens[-1]) is not None:
        window = _window_days(tokens[-1])
        tokens = tokens[:-1]
    kind = default_kind
    if tokens[0] in _KINDS and len(tokens) > 1:
        kind, tokens = tokens[0], tokens[1:]
    if kind == "sum":
        if len(tokens) != 2:
            raise SpecError(key="experiment.sum_metric_property_event", text=text)
        out = {"kind": "sum", "property": tokens[0], "event": tokens[1]}
    else:
        if len(tokens) != 1:
            raise SpecError(key="experiment.metric_event_window_e", kind=kind, text=text)
        out = {"kind": kind, "event": tokens[0]}
    if window is not None:
        out["window_days"] = window
    return out


def _value_name(v: dict[str, Any], default_window: float | None) -> str:
    """The name this command gives a workspace value the user did not name (``purchase_conversion_14d``)."""
    w = v.get("window_days", default_window)
    suffix = f"_{w:g}d" if w is not None else ""
    if v["kind"] == "sum":
        return f"{v['event']}_{v['property']}_sum{suffix}"
    return f"{v['event']}_{v['kind']}{suffix}"


def given_names(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The metrics of an experiment's spec (its JSON form, as a result carries it) named by this command, the user
    having named none: name -> definition (window filled in). A metric is one of them when its name is the one
    :func:`_value_name` makes of its definition; a table's columns and the user's own names are not.

    >>> given_names({"window_days": 14.0, "metrics": [{"name": "purchase_conversion_14d", "kind": "conversion",
    ...     "event": "purchase"}, {"name": "gmv", "kind": "sum", "event": "purchase", "property": "revenue"}]})
    {'purchase_conversion_14d': {'kind': 'conversion', 'event': 'purchase', 'property': None, 'window_days': 14.0}}
    """
    default = spec.get("window_days")
    out: dict[str, dict[str, Any]] = {}
    for m in [*(spec.get("metrics") or []), *(spec.get("guardrails") or [])]:
        if not isinstance(m, dict) or m.get("kind") is None or not m.get("event"):
            continue
        v = {"kind": m["kind"], "event": m["event"], "property": m.get("property")}
        if m.get("window_days") is not None:
            v["window_days"] = m["window_days"]
        if m.get("name") == _value_name(v, default):
            out[m["name"]] = {**v, "window_days": v.get("window_days", default)}
    return out


def metric_words(name: str, lang: str, given: dict[str, dict[str, Any]]) -> str:
    """A metric's name for people: the user's own name as it is; one this command made up (``given``:
    :func:`given_names` of the experiment's spec), in words.

    >>> given = given_names({"window_days": 14.0, "metrics": [
    ...     {"name": "purchase_conversion_14d", "kind": "conversion", "event": "purchase"},
    ...     {"name": "purchase_revenue_sum_14d", "kind": "sum", "event": "purchase", "property": "revenue"}]})
    >>> metric_words("purchase_conversion_14d", "zh-Hans", given), metric_words("gmv", "en", given)
    ('purchase 14 天内转化', 'gmv')
    >>> metric_words("purchase_revenue_sum_14d", "en", given)
    'purchase: revenue per user within 14 days'
    """
    v = given.get(name)
    if v is None:
        return name
    w = v.get("window_days")
    key = f"exp.metric_words.{v['kind']}" + ("" if w is not None else "_any")
    return say(key, lang, event=v["event"], property=v.get("property") or "", days=f"{w:g}" if w is not None else "")


def _quantile_metric(text: str, workspace: bool, default_window: float | None) -> dict[str, Any]:
    name, body = _name_and_body(text)
    if "@" in body:
        value, q = body.rsplit("@", 1)
    elif ":" in body:
        value, q = body.rsplit(":", 1)
    else:
        raise SpecError(key="experiment.quantile_value_q_e", text=text)
    try:
        qf = float(q)
    except ValueError:
        raise SpecError(key="experiment.quantile_number_between_0", q=q) from None
    if not 0 < qf < 1:
        raise SpecError(key="experiment.quantile_quantile_must_between", q=q)
    tag = f"p{qf * 100:g}".replace(".", "_")
    if workspace:
        v = parse_value(value, "sum")
        return {"name": name or f"{_value_name(v, default_window)}_{tag}", "quantile": qf, **v}
    return {"name": name or f"{value}_{tag}", "column": value, "quantile": qf}


def build_metrics(*, workspace: bool, metric: list[str], conversion: list[str], count_metric: list[str],
                  sum_metric: list[str], ratio_metric: list[str], quantile: list[str],
                  window_days: float | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in metric:
        name, body = _name_and_body(item)
        if not workspace:
            m: dict[str, Any] = {"name": name or body}
            if "/" in body:
                num, den = body.split("/", 1)
                m.update(type="ratio", numerator={"column": num.strip()}, denominator={"column": den.strip()})
            else:
                m["column"] = body
            out.append(m)
            continue
        if "/" in body:
            ratio_metric = [*ratio_metric, item]
            continue
        v = parse_value(body, "conversion")
        out.append({"name": name or _value_name(v, window_days), **v})
    if not workspace and (conversion or count_metric or sum_metric):
        raise SpecError(key="experiment.conversion_count_metric_sum")
    for items, kind in ((conversion, "conversion"), (count_metric, "count"), (sum_metric, "sum")):
        for item in items:
            name, body = _name_and_body(item)
            v = parse_value(body, kind)
            out.append({"name": name or _value_name(v, window_days), **v})
    for item in ratio_metric:
        name, body = _name_and_body(item)
        if "/" not in body:
            raise SpecError(key="experiment.ratio_metric_numerator_denominator", item=item)
        num, den = (s.strip() for s in body.split("/", 1))
        if workspace:
            nv, dv = parse_value(num, "sum"), parse_value(den, "count")
            if "window_days" in dv and "window_days" not in nv:
                nv["window_days"] = dv["window_days"]
            out.append({"name": name or f"{_value_name(nv, window_days)}_per_{_value_name(dv, window_days)}",
                        "type": "ratio", "numerator": nv, "denominator": dv})
        else:
            out.append({"name": name or body, "type": "ratio", "numerator": {"column": num},
                        "denominator": {"column": den}})
    for item in quantile:
        out.append(_quantile_metric(item, workspace, window_days))
    return out


def _load_spec_file(path: Optional[Path]) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(key="experiment.spec_file_found", path=path) from None
    except json.JSONDecodeError as exc:
        raise InputFileError(key="experiment.valid_json_at_line", path=path, msg=exc.msg, lineno=exc.lineno) from None


# ----------------------------------------------------------------------------- output


def _fmt(x: Any, pct: bool = False, digits: int = 4) -> str:
    if x is None:
        return empty(_Lang.current())
    if isinstance(x, bool):
        return label("yes" if x else "no", _Lang.current())
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if not math.isfinite(x):
            return empty(_Lang.current())
        if pct:
            return f"{100 * x:+.2f}%"
        return _plain(x)
    return str(x)


def _plain(x: float) -> str:
    """A mean or an effect for people: thousands separators and two decimals (1,234.57, 11.31, -0.05), three
    significant digits below 0.1 (0.0629) — never 1.235e+04.

    >>> _plain(12345.678), _plain(11.3087), _plain(0.062881), _plain(-0.0514), _plain(0.0)
    ('12,345.68', '11.31', '0.0629', '-0.0514', '0.00')
    """
    if x and abs(x) < 0.1:
        return f"{x:.3g}" if abs(x) >= 1e-4 else f"{x:.1e}"
    return f"{x:,.2f}"


def _chance(x: Any, lang: str) -> str:
    """A chance to beat control in percent; beyond 99.9% (or below 0.1%) it reads so, never "1" or 100.0%.

    >>> _chance(0.99997, "en"), _chance(0.8437, "en"), _chance(0.00002, "zh-Hans"), _chance(None, "en")
    ('> 99.9%', '84.4%', '< 0.1%', 'n/a')
    """
    if not isinstance(x, (int, float)) or not math.isfinite(x):
        return empty(lang)
    if x > 0.999:
        return "> 99.9%"
    if x < 0.001:
        return "< 0.1%"
    return percent(x, 1, lang)


def _loss(x: Any, proportion: bool, lang: str) -> str:
    """An expected loss in the metric's unit: percentage points for a proportion (0.00 pp), else the metric's.

    >>> _loss(5.02e-13, True, "en"), _loss(0.0034, True, "en"), _loss(1.39e-08, False, "en"), _loss(2.5, False, "en")
    ('< 0.01 pp', '0.34 pp', '< 0.01', '2.50')
    """
    if not isinstance(x, (int, float)) or not math.isfinite(x):
        return empty(lang)
    unit = " pp" if proportion else ""
    shown = 100 * x if proportion else x
    return f"< 0.01{unit}" if abs(shown) < 0.005 else f"{shown:,.2f}{unit}"


def _pp(x: Any, pct: bool = False) -> str:
    """A difference of two rates in percentage points (+4.08 pp)."""
    return points(x, 2, _Lang.current())


def _ci(ci: Any, pct: bool = False, fmt=None) -> str:
    if not ci:
        return empty(_Lang.current())
    fmt = fmt or _fmt
    lo = "-∞" if ci[0] is None else fmt(ci[0], pct)
    hi = "+∞" if ci[1] is None else fmt(ci[1], pct)
    return f"[{lo}, {hi}]"


def print_experiment(data: dict[str, Any], out=None) -> None:
    """Render an experiment result dict for people (SRM first)."""
    from rich.panel import Panel
    from rich.table import Table

    out = out or console
    from ..reports.exp_intervals import interval_name, interval_note
    from ..reports.experiment import srm_lines, stat_text

    srm = data["srm"]
    lang = _Lang.current()
    head, detail = srm_lines(srm, lang)
    if srm["status"] == "mismatch":
        out.print(Panel(f"[bold]{head}[/bold] — {detail}", style="bold white on red", title="⚠ SRM"))
    elif srm["status"] == "caution":
        out.print(Panel(f"[bold]{head}[/bold] — {detail}", style="bold black on yellow", title="⚠ SRM"))
    elif srm["status"] == "not_testable":
        out.print(Panel(f"{head}{label('sep.colon', lang)}{detail}", style="yellow", title="SRM"))
    else:
        out.print(f"[green]{head}[/green]{label('sep.colon', lang)}{detail}")
    for msg in data.get("messages", []):
        if msg.get("code") in ("guardrail_failed",):
            out.print(f"[bold red]✗ {say('exp.guardrail_failed', lang, metric=msg.get('metric'))}[/bold red]")
    method = data["method"]
    kind = data.get("ci_kind") or "confidence"
    given = given_names(data.get("spec") or {})
    for m in data["metrics"]:
        kinds = [label(f"exp.type.{m['type']}", lang)] + ([label("exp.guardrail", lang)] if m["role"] == "guardrail" else [])
        kinds += [] if m["higher_is_better"] else [label("exp.lower_is_better", lang)]
        title = f"{metric_words(m['metric'], lang, given)}{label('sep.open', lang)}{label('sep.list', lang).join(kinds)}{label('sep.close', lang)}"
        if m.get("guardrail_status"):
            title += " — " + say("exp.guardrail_status", lang, status=text_value(m["guardrail_status"], lang))
        t = Table(title=title, title_justify="left")
        t.add_column(label("col.variant", lang), justify="left")
        t.add_column(label("col.n", lang), justify="right")
        t.add_column(label("col.mean", lang), justify="right")
        level = interval_name(m.get("ci_level", data["ci_level"]), kind, m.get("ci_correction"), lang)
        t.add_column(f"{label('col.effect_abs', lang)} [{level}]", justify="right")
        t.add_column(f"{label('col.effect_rel', lang)} [{level}]", justify="right")
        if method == "bayesian":
            t.add_column(label("col.chance_to_win", lang), justify="right")
            t.add_column(label("col.expected_loss", lang), justify="right")
        else:
            t.add_column(label("col.p_value", lang) if data["correction"] == "none" else
                         label("exp.p_value_both", lang), justify="right")
        t.add_column(label("col.verdict", lang))
        for v in m["variants"]:
            name = v["variant"] + ("*" if v.get("is_control") else "")
            # a proportion's mean is a rate (8.4%) and its absolute effect a difference of rates (+4.08 pp)
            prop = m["type"] == "proportion"
            row = [name, _fmt(v["n"]), percent(v["mean"], 2, lang) if prop else _fmt(v["mean"])]
            if v.get("is_control"):
                row += [""] * (4 if method == "bayesian" else 3) + [v.get("message") or ""]
            else:
                row += [f"{_pp(v.get('effect_abs')) if prop else _fmt(v.get('effect_abs'))} "
                        f"{_ci(v.get('ci_abs'), fmt=_pp if prop else _fmt)}",
                        f"{_fmt(v.get('effect_rel'), True)} {_ci(v.get('ci_rel'), True)}"]
                if method == "bayesian":
                    row += [_chance(v.get("chance_to_win"), lang), _loss(v.get("risk"), prop, lang)]
                else:
                    pv = pvalue(v.get("p_value"))
                    if data["correction"] != "none" and v.get("p_value_adjusted") is not None:
                        pv += f" ({pvalue(v.get('p_value_adjusted'))})"
                    row.append(pv)
                verdict = text_value(v["verdict"], lang) if v.get("verdict") else ""
                if v.get("message"):
                    verdict += f"{label('sep.open', lang)}{stat_text(v['message'], lang)}{label('sep.close', lang)}"
                style = {"win": "green", "loss": "red"}.get(v.get("verdict") or "", "")
                row.append(f"[{style}]{verdict}[/{style}]" if style else verdict)
            t.add_row(*row)
        out.print(t)
        if m.get("cuped") and m["cuped"].get("variance_reduction") is not None:
            out.print("  " + say("exp.cuped", lang, covariate=m["cuped"]["covariate"], theta=f"{m['cuped']['theta']:.4g}",
                                 reduction=percent(m["cuped"]["variance_reduction"], lang=lang)))
    out.print(f"[dim]{interval_note(data, lang)}[/dim]")
    notes = [msg for msg in data.get("messages", []) if msg.get("code") not in
             ("srm_mismatch", "srm_caution", "guardrail_failed")]
    for msg in notes:
        where = "/".join(str(msg[k]) for k in ("metric", "variant") if msg.get(k))
        out.print(f"[dim]{label('note', lang)}[/dim] {msg.get('code')}{' (' + where + ')' if where else ''}: "
                  f"{stat_text(msg.get('message'), lang, msg.get('code'))}")


def _write_html(result, path: Path) -> None:
    from plotly.offline import get_plotlyjs

    from ..reports.experiment import experiment_html

    lang = _Lang.current()
    given = given_names(result.spec.model_dump(mode="json"))
    page = (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{label('experiment', lang)}</title>"
            f"<script>{get_plotlyjs()}</script></head><body>"
            f"{experiment_html(result, lang, {m: metric_words(m, lang, given) for m in given})}</body></html>")
    Path(path).write_text(page, encoding="utf-8")


def _emit_result(result, fmt: str, html_out: Optional[Path]) -> None:
    if fmt not in ("table", "json", "csv"):
        raise YunyingError(key="common.format_must_table_json", fmt=fmt)
    if html_out is not None:
        _write_html(result, html_out)
    if fmt == "json":
        sys.stdout.write(result.to_json(indent=2) + "\n")
    elif fmt == "csv":
        sys.stdout.write(result.to_csv())
    else:
        print_experiment(result.to_dict())
        if html_out is not None:
            console.print(say("html_written", _Lang.current(), path=html_out), highlight=False)


# ----------------------------------------------------------------------------- commands


def _set_metrics(data: dict[str, Any], metrics: list, guards: list) -> None:
    if metrics:
        data["metrics"] = metrics
    if guards:
        data["guardrails"] = guards
    if not data.get("metrics"):
        raise SpecError(key="experiment.give_at_least_one")


def _mark_lower_is_better(data: dict[str, Any], lib: set[str]) -> None:
    """--lower-is-better NAME: those metrics (or guardrails) get higher_is_better=False."""
    if not lib:
        return
    known = {m["name"] if isinstance(m, dict) else m for m in [*data["metrics"], *data.get("guardrails", [])]}
    unknown = lib - known
    if unknown:
        raise SpecError(key="experiment.lower_better_names_unknown", unknown=', '.join(sorted(unknown)), known=', '.join(sorted(known)))
    for key in ("metrics", "guardrails"):
        data[key] = [dict(m, higher_is_better=False) if isinstance(m, dict) and m["name"] in lib else
                     ({"name": m, "column": m, "higher_is_better": False} if isinstance(m, str) and m in lib else m)
                     for m in data.get(key, [])]


def _options(data: dict[str, Any], *, srm_threshold, one_sided: bool, prior_mean, prior_sd, **given) -> dict[str, Any]:
    """The spec fields given on the command line (they override --spec)."""
    opts: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if srm_threshold is not None:
        opts["srm_threshold"] = srm_threshold
        opts["srm_caution_threshold"] = max(srm_threshold, data.get("srm_caution_threshold", 0.01))
    if one_sided:
        opts["one_sided"] = True
    if prior_mean is not None or prior_sd is not None:
        opts.update(proper_prior=True, prior_mean=prior_mean or 0.0, prior_stddev=prior_sd or 0.3)
    return opts


def _workspace_options(**given) -> dict[str, Any]:
    return {k: v for k, v in given.items() if v is not None}


def _experiment_target(spec_file, table, workspace, events, exposure_event, method, correction):
    """(spec data from --spec, the table to read or None, whether the workspace is analysed), checked."""
    data = _load_spec_file(spec_file)
    data.pop("kind", None)
    spec_table = data.pop("table", None)
    is_ws = (workspace is not None or events is not None or exposure_event is not None
             or (table is None and bool(data.get("exposure_event"))))
    if table is not None and (workspace is not None or events is not None):
        raise SpecError(key="experiment.give_either_table_workspace")
    if table is None and not is_ws:
        if spec_table is None:
            raise SpecError(key="experiment.give_table_file_workspace")
        table = Path(spec_table)
    if method is not None and method not in ("frequentist", "bayesian", "sequential"):
        raise SpecError(key="experiment.method_must_frequentist_bayesian", method=method)
    if correction is not None and correction not in ("holm", "bh", "none"):
        raise SpecError(key="experiment.correction_must_holm_bh", correction=correction)
    return data, table, is_ws


def experiment_command(
    table: Optional[Path] = typer.Option(None, "--table", help="Per-unit table (CSV, Parquet or JSONL): one row per unit."),
    workspace: Optional[Path] = typer.Option(None, "--workspace", "-w", help="Analyse workspace events instead of a table."),
    events: Optional[Path] = typer.Option(None, "--events", help="Analyse an events file directly (as a throwaway workspace)."),
    exposure_event: Optional[str] = typer.Option(None, "--exposure-event", help="Workspace: the event that carries the variant; a user's first one assigns them."),
    unit: Optional[str] = typer.Option(None, "--unit", help="Table: the unit id column (units in two variants are excluded)."),
    variant: Optional[str] = typer.Option(None, "--variant", help="Table: the variant column (default: variant)."),
    control: Optional[str] = typer.Option(None, "--control", help="The control variant's value (default: 'control')."),
    metric: Optional[List[str]] = typer.Option(None, "--metric", "-m", help="Metric columns, comma-separated; A/B for a ratio. Workspace: EVENT[:WINDOW] (conversion) or KIND:… (see docs)."),
    guardrail: Optional[List[str]] = typer.Option(None, "--guardrail", help="Guardrail metrics (same syntax as --metric); not multiplicity-adjusted, flagged when they get significantly worse."),
    lower_is_better: Optional[List[str]] = typer.Option(None, "--lower-is-better", help="Metric names where a decrease is good (comma-separated)."),
    conversion: Optional[List[str]] = typer.Option(None, "--conversion", help="Workspace: [NAME=]EVENT[:WINDOW], e.g. purchase:14d — did the user do EVENT within WINDOW of exposure."),
    count_metric: Optional[List[str]] = typer.Option(None, "--count-metric", help="Workspace: [NAME=]EVENT[:WINDOW] — events per user."),
    sum_metric: Optional[List[str]] = typer.Option(None, "--sum-metric", help="Workspace: [NAME=]PROPERTY:EVENT[:WINDOW], e.g. revenue:purchase:14d — sum per user."),
    ratio_metric: Optional[List[str]] = typer.Option(None, "--ratio-metric", help="[NAME=]NUM/DEN. Table: columns. Workspace: values, e.g. sum:revenue:purchase/count:purchase:14d."),
    quantile: Optional[List[str]] = typer.Option(None, "--quantile", help="[NAME=]VALUE@Q: the Q-quantile of a per-unit value, e.g. sum_gamerounds@0.5."),
    window_days: Optional[float] = typer.Option(None, "--window-days", help="Workspace: default metric window after exposure, days (default 14)."),
    covariate: Optional[str] = typer.Option(None, "--covariate", help="CUPED covariate: a pre-period column (table) or 'pre' (workspace: the same metric before exposure)."),
    pre_days: Optional[float] = typer.Option(None, "--pre-days", help="Workspace: pre-period length for --covariate pre, days (default 14)."),
    method: Optional[str] = typer.Option(None, "--method", help="frequentist (default), bayesian or sequential."),
    split: Optional[str] = typer.Option(None, "--split", help="Planned split, control first then the other variants sorted, e.g. 50/50."),
    variants: Optional[str] = typer.Option(None, "--variants", help="Variants to analyse, in order (control first), comma-separated."),
    alpha: Optional[float] = typer.Option(None, "--alpha", help="Significance level (default 0.05); intervals are 1 - alpha, at the corrected level with several goal comparisons; Bayesian: a win needs a chance to win of 1 - alpha, intervals are 1 - 2 alpha."),
    one_sided: bool = typer.Option(False, "--one-sided", help="One-sided tests in the direction of improvement."),
    correction: Optional[str] = typer.Option(None, "--correction", help="Multiple-testing adjustment: holm (default), bh or none."),
    prior_mean: Optional[float] = typer.Option(None, "--prior-mean", help="Bayesian: prior mean of the relative effect (sets a proper prior)."),
    prior_sd: Optional[float] = typer.Option(None, "--prior-sd", help="Bayesian: prior sd of the relative effect (sets a proper prior; default 0.3)."),
    sequential_tuning: Optional[float] = typer.Option(None, "--sequential-tuning", help="Sequential: N*, the total sample where intervals are tightest (default 5000)."),
    srm_threshold: Optional[float] = typer.Option(None, "--srm-threshold", help="SRM p-value below which the mismatch warning is raised (default 0.001)."),
    experiment_name: Optional[str] = typer.Option(None, "--experiment", help="Workspace: keep exposures whose 'experiment' property equals this."),
    start: Optional[str] = typer.Option(None, "--start", help="Workspace: first exposure date (inclusive, workspace time zone)."),
    end: Optional[str] = typer.Option(None, "--end", help="Workspace: last exposure date (inclusive)."),
    exclude_incomplete: bool = typer.Option(False, "--exclude-incomplete", help="Workspace: leave out users whose metric window has not closed."),
    where: Optional[List[str]] = typer.Option(None, "--where", help="Workspace: a filter (repeatable; docs/users.md): on user./segment only it selects the users, else the metric events."),
    segment: Optional[str] = typer.Option(None, "--segment", help="Workspace: only this segment's members."),
    spec_file: Optional[Path] = typer.Option(None, "--spec", help="A JSON ExperimentSpec; command-line options override it."),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Also write an HTML report (with chart) to this file."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or csv."),
):
    """Analyse an A/B test: SRM check, effects with intervals, p-values or chance to win."""
    data, table, is_ws = _experiment_target(spec_file, table, workspace, events, exposure_event, method, correction)
    default_window = window_days if window_days is not None else data.get("window_days", 14.0)
    metrics = build_metrics(workspace=is_ws, metric=_split_list(metric), conversion=_split_list(conversion),
                            count_metric=_split_list(count_metric), sum_metric=_split_list(sum_metric),
                            ratio_metric=list(ratio_metric or []), quantile=list(quantile or []),
                            window_days=default_window)
    _set_metrics(data, metrics, build_metrics(workspace=is_ws, metric=_split_list(guardrail), conversion=[],
                                              count_metric=[], sum_metric=[], ratio_metric=[], quantile=[],
                                              window_days=default_window))
    _mark_lower_is_better(data, set(_split_list(lower_is_better)))
    opts = _options(data, control=control, split=split, variants=variants, covariate=covariate, method=method,
                    alpha=alpha, correction=correction, sequential_tuning=sequential_tuning,
                    srm_threshold=srm_threshold, one_sided=one_sided, prior_mean=prior_mean, prior_sd=prior_sd)
    if is_ws:
        opts.update(_workspace_options(window_days=window_days, cuped_pre_days=pre_days,
                                       exclude_incomplete_windows=exclude_incomplete or None,
                                       exposure_event=exposure_event or None, experiment=experiment_name,
                                       start=start, end=end))
        if where or segment:
            opts["filters"] = filters_of(where, segment)
        data.pop("unit", None)
        data.pop("variant", None)
        from ..analyses.experiment import analyze_workspace

        with open_target(workspace, events, read_only=True) as ws:
            result = analyze_workspace(ws.engine, {**data, **opts})
    else:
        if where or segment:
            raise SpecError(key="experiment.where_segment_filter_workspace")
        if unit is not None:
            opts["unit"] = unit
        if variant is not None:
            opts["variant"] = variant
        from ..analyses.experiment import analyze_table  # pandas: the table mode only

        result = analyze_table(table, {**data, **opts})
    _emit_result(result, fmt, html_out)


def plan_command(
    baseline_rate: Optional[float] = typer.Option(None, "--baseline-rate", help="Control conversion rate, e.g. 0.19."),
    mean: Optional[float] = typer.Option(None, "--mean", help="Control mean of a numeric metric."),
    stddev: Optional[float] = typer.Option(None, "--stddev", help="Per-unit standard deviation of a numeric metric."),
    mde: Optional[float] = typer.Option(None, "--mde", help="Minimum detectable effect (relative, 0.05 = +5%; see --absolute)."),
    absolute: bool = typer.Option(False, "--absolute", help="--mde is an absolute change (0.01 = +1 point)."),
    daily_traffic: Optional[float] = typer.Option(None, "--daily-traffic", help="Eligible units per day."),
    traffic_fraction: float = typer.Option(1.0, "--traffic-fraction", help="Share of daily traffic put in the experiment."),
    days: Optional[int] = typer.Option(None, "--days", help="Planned duration (with --daily-traffic → MDE)."),
    sample_size: Optional[int] = typer.Option(None, "--sample-size", help="Total units available (→ MDE)."),
    variants: int = typer.Option(2, "--variants", help="Number of variants including control."),
    split: Optional[str] = typer.Option(None, "--split", help="Planned split, control first, e.g. 50/50."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level."),
    power: float = typer.Option(0.8, "--power", help="Power (1 - beta)."),
    one_sided: bool = typer.Option(False, "--one-sided", help="Plan for a one-sided test."),
    no_bonferroni: bool = typer.Option(False, "--no-bonferroni", help="With >2 variants, do not split alpha."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or csv."),
):
    """Plan an A/B test: sample size and duration for an MDE, or the MDE for a sample/duration."""
    from ..analyses.experiment import parse_split
    from ..stats import plan_experiment

    if fmt not in ("table", "json", "csv"):
        raise YunyingError(key="common.format_must_table_json", fmt=fmt)
    sp = parse_split(split)
    if sp is not None and variants == 2 and len(sp) != 2:
        variants = len(sp)
    try:
        res = plan_experiment(baseline_rate=baseline_rate, mean=mean, stddev=stddev, mde=mde, relative=not absolute,
                              n_total=sample_size, days=days, daily_traffic=daily_traffic,
                              traffic_fraction=traffic_fraction, variants=variants, split=sp, alpha=alpha,
                              power=power, alternative="one-sided" if one_sided else "two-sided",
                              bonferroni=not no_bonferroni)
    except ValueError as exc:
        raise SpecError(text_of(exc) or str(exc)) from None
    d = res.to_dict()
    if fmt == "json":
        sys.stdout.write(json.dumps(d, indent=2, allow_nan=False) + "\n")
        return
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(list(d))
        w.writerow([json.dumps(v) if isinstance(v, list) else ("" if v is None else v) for v in d.values()])
        sys.stdout.write(buf.getvalue())
        return
    lang = _Lang.current()
    kind = label("plan.kind.conversion" if d["metric_type"] == "proportion" else "plan.kind.mean", lang)
    per = (say("plan.alpha_per", lang, alpha=f"{d['alpha_per_comparison']:.4g}")
           if d["alpha_per_comparison"] != d["alpha"] else "")
    console.print(say("plan.head", lang, kind=kind, baseline=f"{d['baseline']:g}", alpha=f"{d['alpha']:g}", per=per,
                      power=f"{d['power']:g}", sides=label(f"plan.{d['alternative']}", lang), variants=d["variants"]),
                  highlight=False)
    if d["mde_abs"] is not None:
        rel = say("plan.relative", lang, rel=f"{100 * d['mde_rel']:.2f}%") if d["mde_rel"] is not None else ""
        console.print("  " + say("plan.mde", lang, abs=f"{d['mde_abs']:.4g}", rel=rel), highlight=False)
    else:
        console.print(f"  {d['message']}")
    if d["n_per_variant"]:
        console.print("  " + say("plan.units", lang, units=", ".join(f"{n:,}" for n in d["n_per_variant"]),
                                 total=f"{d['n_total']:,}"), highlight=False)
    if d["days"] is not None:
        console.print("  " + say("plan.duration", lang, days=d["days"], traffic=f"{d['daily_traffic']:,.0f}",
                                 fraction=f"{d['traffic_fraction']:g}"), highlight=False)


def register(app: typer.Typer) -> None:
    app.command("experiment", help="Analyse an A/B test (SRM check first; frequentist, Bayesian or sequential).")(
        experiment_command)
    app.command("plan", help="Plan an A/B test: sample size, duration or minimum detectable effect.")(plan_command)
