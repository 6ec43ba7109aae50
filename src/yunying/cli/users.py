"""User-operations commands: ``rfm`` (RFM scores and the 8 customer classes) and ``repurchase``
(复购率 / 回购率). Definitions: docs/users.md.

Both run on a workspace (``--workspace DIR``) or an events file (``--events FILE``), on the configured
engine or ``--engine duckdb|spark``, print ``--format table|json|csv``, take ``--where EXPR``
(repeatable; all must hold) and ``--segment NAME`` to restrict the purchases, and run or save specs (``--spec``/``--save-spec``).
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import YunyingError
from ..reports.i18n import empty, say
from .common import _Lang
from .analytics import filters_of
from .common import (_periodic, check_format, console, emit, err_console, load_spec, open_target,
                     print_rows, shared_options)

WhereOpt = typer.Option(None, "--where", help="Only purchases where EXPR holds, e.g. \"event.city = '上海'\" "
                        "(repeatable; all must hold; grammar in docs/users.md).")
SegmentOpt = typer.Option(None, "--segment", help="Only the purchases of this segment's members.")
OrderOpt = typer.Option(None, "--order-property", help="Count distinct values of this property as orders "
                        "(default: every purchase event is an order); implies --basis orders for repurchase.")


def _spec(ctx: typer.Context, cls, spec_text: Optional[str], allowed=(), **options):
    """The spec from ``--spec`` (analysis options next to it are an error) or from the options."""
    return load_spec(ctx, cls, spec_text, allowed) or cls.build(**options)


def _compute(fn, spec, workspace, events, engine, save):
    if save is not None:
        save.write_text(spec.to_json() + "\n", encoding="utf-8")
    with open_target(workspace, events, engine=engine) as ws:
        res = fn(ws.engine, spec)
        # a result per week or month: periods before the data and its last, partial one marked, as in run_spec
        _Lang.data_span = ws.data_span() if _periodic(spec) else None
        return res


@shared_options
def rfm_cmd(
    ctx: typer.Context,
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Day to measure recency from (default: the day of "
                                        "the latest purchase); later purchases are ignored."),
    order_property: Optional[str] = OrderOpt,
    model: str = typer.Option("quantile", "--model", help="quantile (scores 1..bins) or mean8 (above/below the mean)."),
    bins: int = typer.Option(5, "--bins", help="Scores per measure for --model quantile (2-10)."),
    lang: str = typer.Option("en", "--lang", help="Language of class names: en, zh-Hans or zh-Hant."),
    where: Optional[List[str]] = WhereOpt,
    segment: Optional[str] = SegmentOpt,
    save_segment: Optional[str] = typer.Option(None, "--save-segment", help="Save the buyers of --class as a static "
                                               "segment of this name (workspace only)."),
    rfm_class: Optional[str] = typer.Option(None, "--class", help="With --save-segment: the class to save, as printed "
                                            "(e.g. 重要价值客户 with --lang zh-Hans)."),
    *, spec_file, save, workspace, events, engine, fmt
):
    """RFM (最近一次消费/消费频率/消费金额): scores and the 8 customer classes of every buyer."""
    from ..analyses.rfm import RfmSpec, rfm

    check_format(fmt)
    spec = _spec(ctx, RfmSpec, spec_file, ("save_segment", "rfm_class"), as_of=as_of, order_property=order_property,
                 model=model, bins=bins, lang=lang, filters=filters_of(where, segment))
    if save_segment is not None and (events is not None or not rfm_class):
        raise YunyingError(key="users.save_segment_needs_workspace")
    res = _compute(rfm, spec, workspace, events, engine, save)
    if save_segment is not None:
        _save_class(res, workspace, save_segment, rfm_class)
    if fmt != "table":
        emit(res, fmt)
        return
    # The summary and the first 20 buyers only: records for every buyer (to_dict) cost ~12 s at 10M buyers.
    print_rows([{"segment_name": s["name"], "users": s["users"], "share": s["share"], "revenue": s["revenue"],
                 "revenue_share": s["revenue_share"]} for s in res.meta.get("segments", [])], res.meta.get("title"))
    n = len(res.frame)
    if n:
        top = res.__class__(res.spec, res.frame.head(20), res.meta).records()
        print_rows(top, say("rfm.top", _Lang.current(), shown=min(20, n), total=f"{n:,}"))


def _save_class(res, workspace: Optional[Path], name: str, rfm_class: str) -> None:
    """The buyers of one RFM class (its id such as important_value, or its name in any language) as a static
    segment."""
    from .. import Workspace  # the package registers the engines (yunying/__init__.py)

    segments = res.meta.get("segments", [])
    match = [s["segment"] for s in segments
             if rfm_class in (s["segment"], s["name"], *s.get("labels", {}).values())]
    if not match:
        raise YunyingError(key="users.class_class_this_run", rfm_class=rfm_class, value=', '.join(s['segment'] for s in segments))
    ids = res.frame.loc[(res.frame["segment"] == match[0]).to_numpy(), "user_id"].tolist()
    with Workspace.open(workspace or Path(".")) as ws:
        ws.save_segment(name, kind="static", static_ids=ids,
                        description=f"RFM class {match[0]} ({res.meta.get('model')}, as of {res.meta.get('as_of')})")
        _Lang.follow(ws)
    from ..reports.format import count

    lang = _Lang.current()
    err_console.print(say("cli.rfm_saved", lang, n=count(len(ids), lang), rfm_class=match[0], name=name),
                      highlight=False)


@shared_options
def repurchase_cmd(
    ctx: typer.Context,
    period: str = typer.Option("month", "--period", help="month or week (ISO, Monday)."),
    basis: str = typer.Option("days", "--basis", help="复购 = bought on ≥2 different days (days) or placed ≥2 orders (orders)."),
    order_property: Optional[str] = OrderOpt,
    where: Optional[List[str]] = WhereOpt,
    segment: Optional[str] = SegmentOpt,
    *, date_from, date_to, spec_file, save, workspace, events, engine, fmt
):
    """Repurchase: 复购率 (bought again within the period) and 回购率 (bought again the next period)."""
    from ..analyses.repurchase import RepurchaseSpec, repurchase

    check_format(fmt)
    spec = _spec(ctx, RepurchaseSpec, spec_file, (), period=period,
                 basis="orders" if order_property and basis == "days" else basis, order_property=order_property,
                 date_from=date_from, date_to=date_to, filters=filters_of(where, segment))
    res = _compute(repurchase, spec, workspace, events, engine, save)
    emit(res, fmt)
    if fmt == "table":
        console.print(say("repurchase.footer", _Lang.current(), na=empty(_Lang.current())), highlight=False)


def register(app: typer.Typer) -> None:
    app.command("rfm")(rfm_cmd)
    app.command("repurchase")(repurchase_cmd)
