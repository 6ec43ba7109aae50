"""Customer-value commands: clv (P(alive), expected purchases and spend, CLV, holdout check) and winback.

Definitions: docs/customer-value.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import SpecError
from ..reports.columns import text_value
from ..reports.format import count, number
from ..reports.i18n import label, say
from .common import _Lang
from .common import EventsOpt, FormatOpt, WorkspaceOpt, check_format, options_from, console, emit, open_target, print_rows

CalOpt = typer.Option(None, "--calibration-end", help="Last day of the calibration period; later purchases up to "
                      "--as-of are the holdout the model is checked against.")
AsOfOpt = typer.Option(None, "--as-of", help="Last day of data to read (default: the last purchase day).")
PeriodOpt = typer.Option("week", "--period", help="Time unit of recency, T and the model: day or week.")
ModelOpt = typer.Option("bgnbd", "--model", help="Purchase model: bgnbd (BG/NBD) or pareto (Pareto/NBD).")
HorizonOpt = typer.Option("90d", "--horizon", help="Prediction horizon, e.g. 90d, 12w, 365d.")
DiscountOpt = typer.Option(0.10, "--discount-rate", help="Annual discount rate of CLV (0.10 = 10 %).")
MarginOpt = typer.Option(1.0, "--margin", help="Share of revenue kept as profit (1 = CLV in revenue).")
EngineOpt = typer.Option(None, "--engine", help="Override the workspace engine (duckdb|spark).")
WhereOpt = typer.Option(None, "--where", help="Only customers with an event (up to --as-of) where EXPR holds "
                        "(repeatable; all must hold; docs/users.md#where-each-filter-applies); the model is fitted "
                        "on every customer.")
SegmentOpt = typer.Option(None, "--segment", help="Only the members of this segment.")
# The options clv and winback share, declared once (see common.options_from).
customer_value_options = options_from({
    "workspace": (Optional[Path], WorkspaceOpt), "events": (Optional[Path], EventsOpt),
    "calibration_end": (Optional[str], CalOpt), "as_of": (Optional[str], AsOfOpt), "period": (str, PeriodOpt),
    "model": (str, ModelOpt), "horizon": (str, HorizonOpt), "discount_rate": (float, DiscountOpt),
    "margin": (float, MarginOpt), "engine": (Optional[str], EngineOpt), "fmt": (str, FormatOpt),
    "where": (Optional[List[str]], WhereOpt), "segment": (Optional[str], SegmentOpt),
})


def _horizon_days(text: str) -> float:
    from ..model.durations import parse_duration

    if text.strip().replace(".", "", 1).isdigit():  # a bare number would be read as seconds
        raise SpecError(key="customers.horizon_give_unit_e", text=text.strip())
    try:
        return parse_duration(text) / 86400.0
    except ValueError:
        raise SpecError(key="customers.horizon_cannot_read_use", text=text) from None


def _share(text: str) -> float:
    t = text.strip()
    try:
        return float(t[:-1]) / 100.0 if t.endswith("%") else float(t)
    except ValueError:
        raise SpecError(key="customers.holdout_expected_share_such", text=text) from None


def _settings(calibration_end, as_of, period, model, horizon, discount_rate, margin, where, segment) -> dict:
    from .analytics import filters_of

    return dict(calibration_end=calibration_end, as_of=as_of, period=period, model=model,
                horizon_days=_horizon_days(horizon), discount_rate=discount_rate, margin=margin,
                filters=filters_of(where, segment) or [])


@customer_value_options
def clv_cmd(
    *, workspace, events, calibration_end, as_of, period, model, horizon, discount_rate, margin, where, segment,
    engine, fmt,
):
    """Customer value (客户价值): P(alive), expected purchases and spend, CLV and churn risk per customer.

    With --calibration-end, also predicted vs actual purchases in the holdout up to --as-of.
    """
    from ..analyses.customer_value import CustomerValueSpec, customer_value

    check_format(fmt)
    spec = CustomerValueSpec.build(**_settings(calibration_end, as_of, period, model, horizon, discount_rate, margin,
                                               where, segment))
    with open_target(workspace, events, engine=engine) as ws:
        res = customer_value(ws.engine, spec)
    if fmt != "table":
        emit(res, fmt)
        return
    m = res.meta
    params = [{"model": p["name"], "parameter": k, "value": v["value"], "se": v["se"]}
              for p in (m["model"], m["spend"]) if p for k, v in p.items() if isinstance(v, dict)]
    print_rows(params, say("clv.fit_title", _Lang.current(), n=f"{m['customers']:,}", end=m["calibration_end"],
                           ll=f"{m['log_likelihood']:.1f}"))
    if "holdout" in m:
        h = m["holdout"]
        title = say("clv.holdout_title", _Lang.current(), start=h["start"], end=h["end"],
                    predicted=number(h["predicted"], 1), actual=count(h["actual"]))
        print_rows(h["buckets"], title, analysis="holdout")
    from ..analyses.customer_value import as_columns, ranked

    top = as_columns(res.scores, ranked(res.scores, "clv" if res.spend else "expected_purchases")[:20])
    lang = _Lang.current()
    title = (say("clv.by_value_filtered", lang, n=f"{len(res):,}", all=f"{m['customers']:,}")
             if res.spec.filters else say("clv.by_value", lang, n=f"{len(res):,}"))
    print_rows(res.__class__(res.spec, top, {}).records(), title, analysis="customer_value",
               spec=res.spec.model_dump(mode="json"))
    if m.get("note"):
        lang = _Lang.current()
        console.print(f"{label('note', lang)}{label('sep.colon', lang)}{text_value(m['note'], lang)}", highlight=False)


@customer_value_options
def winback_cmd(
    *,
    top: int = typer.Option(1000, "--top", help="How many customers to list."),
    holdout: str = typer.Option("10%", "--holdout", help="Share of the list kept out of the campaign (random, seeded)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the holdout draw."),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Also write the list to an Excel workbook."),
    save_holdout: Optional[str] = typer.Option(None, "--save-holdout", help="Store the holdout customers as this "
                                               "static segment (for the campaign review)."),
    save_list: Optional[str] = typer.Option(None, "--save-list", help="Store the target (treated) customers as "
                                            "this static segment."),
    replace: bool = typer.Option(False, "--replace", help="With --save-holdout / --save-list: overwrite segments "
                                 "of those names."),
    workspace, events, calibration_end, as_of, period, model, horizon, discount_rate, margin, where, segment,
    engine, fmt,
):
    """Win-back list (召回): customers ranked by value at risk = (1 − P(alive)) × CLV if still alive."""
    from ..analyses.customer_value import WinbackSpec, save_groups, winback

    check_format(fmt)
    saving = save_holdout is not None or save_list is not None
    if saving and events is not None:
        raise SpecError(key="customers.save_holdout_save_list")
    if replace and not saving:
        raise SpecError(key="customers.replace_only_applies_with")
    spec = WinbackSpec.build(top=top, holdout=_share(holdout), seed=seed,
                             **_settings(calibration_end, as_of, period, model, horizon, discount_rate, margin,
                                         where, segment))
    with open_target(workspace, events, engine=engine, read_only=not saving) as ws:
        res = winback(ws.engine, spec)
        if saving:
            res.meta["segments"] = save_groups(ws, res, holdout=save_holdout, target=save_list, replace=replace)
    if xlsx is not None:  # for people: the catalogue's headers and words in the language asked for
        from ..reports.xlsx import result_workbook

        lang = _Lang.current()
        result_workbook(xlsx, res.records(), res.meta, lang, analysis="winback", title=label("sheet.winback", lang),
                        currency=res.meta.get("currency") or "")
    emit(res, fmt, title=say("winback.title", _Lang.current(), n=f"{res.meta['listed']:,}", held=f"{res.meta['holdout_users']:,}"))


def register(app: typer.Typer) -> None:
    app.command("clv")(clv_cmd)
    app.command("winback")(winback_cmd)
