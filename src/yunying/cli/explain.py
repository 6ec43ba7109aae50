"""``yunying metrics`` (the workspace's named metrics and their series) and ``yunying explain`` (why a
metric moved: an exact split of its change by factor and by segment). Definitions: docs/explain.md."""
from __future__ import annotations

from typing import List, Optional

import typer

from .analytics import filters_of, segment_option
from .common import check_format, console, emit, in_options, load_spec, open_target, print_rows, shared_options


@shared_options
def metrics_cmd(
    name: Optional[str] = typer.Argument(None, help="A metric to compute (without: list the metrics)."),
    interval: str = typer.Option("day", "--interval", "-i", help="day, week, month, or total (one value for the range)."),
    by: Optional[str] = typer.Option(None, "--by", help="Split by event.PROP, user.PROP or segment:A,B."),
    where: Optional[List[str]] = typer.Option(None, "--where", help="Only events where EXPR holds (repeatable; "
                                              "docs/users.md#filter-language)."),
    segment: Optional[str] = segment_option(),
    *, date_from, date_to, workspace, events, engine, fmt,
):
    """Named metrics (指标): without NAME the list (definition, kind, tree); with NAME its values per period."""
    from ..analyses.metrics import MetricSpec, list_metrics, metric

    check_format(fmt)
    with open_target(workspace, events, engine=engine) as ws:
        if name is None:
            rows = list_metrics(ws.engine)
            if fmt == "table":
                print_rows([{"metric": r["name"], "definition": r["definition"], "kind": r["kind"],
                             "tree": r["tree"] or ""} for r in rows], "metrics.title")
            else:
                emit({"metrics": rows}, fmt, rows_key="metrics")
            return
        spec = MetricSpec.build(metric=name, interval=interval, by=by, date_from=date_from, date_to=date_to,
                                filters=filters_of(where, segment))
        res = metric(ws.engine, spec)
    emit(res, fmt)


@shared_options
def explain_cmd(
    ctx: typer.Context,
    metric: Optional[str] = typer.Argument(None, help="The metric to explain (yunying metrics lists them), e.g. revenue."),
    period: Optional[str] = typer.Option(None, "--period", help="week or month: the last complete one against the one before."),
    vs_from: Optional[str] = typer.Option(None, "--vs-from", help="First day of the range to compare with "
                                          "(default: the range just before --from, of the same length)."),
    vs_to: Optional[str] = typer.Option(None, "--vs-to", help="Last day of the range to compare with."),
    by: Optional[str] = typer.Option(None, "--by", help="Split by event.PROP, user.PROP or segment:A,B; a second "
                                     "dimension after a comma drills down (--by channel,platform)."),
    factors: Optional[str] = typer.Option(None, "--factors", help="Factors to use instead of the metric's tree, "
                                          "metric names whose product is the metric (a,b,c)."),
    where: Optional[List[str]] = typer.Option(None, "--where", help="Only events where EXPR holds (repeatable; "
                                              "docs/users.md#filter-language)."),
    segment: Optional[str] = segment_option(),
    top: int = typer.Option(10, "--top", help="Segments shown per level; the rest are summed as (other)."),
    lang: str = typer.Option("en", "--lang", help="Language of the sentences and tables: en, zh-Hans or zh-Hant."),
    *, date_from, date_to, spec_file, save, workspace, events, engine, fmt,
):
    """Why a metric moved (指标分解): its change split exactly by factor (LMDI / Shapley) and by segment
    (mix and rate effects), with plain sentences. Definitions: docs/explain.md."""
    from ..analyses.explain import ExplainSpec, explain
    from ..errors import SpecError
    from ..reports.i18n import normalize_lang

    check_format(fmt)
    lang = normalize_lang(lang)
    spec = load_spec(ctx, ExplainSpec, spec_file, allowed=("lang",))
    if spec is None:
        if metric is None:
            raise SpecError(key="explain.give_metric_explain_e")
        try:
            spec = ExplainSpec.build(metric=metric, period=period, date_from=date_from, date_to=date_to,
                                     vs_from=vs_from, vs_to=vs_to, by=by, top=top, filters=filters_of(where, segment),
                                     factors=[f.strip() for f in factors.split(",") if f.strip()] if factors else None)
        except SpecError as exc:
            raise in_options(exc, ctx, IN_OPTIONS, "explain.cli_invalid", {"filters": "where"}) from None
    if save is not None:
        save.write_text(spec.to_json() + "\n", encoding="utf-8")
    with open_target(workspace, events, engine=engine) as ws:
        res = explain(ws.engine, spec)
    _show(res, fmt, lang)


# The spec's rules (analyses/explain.py) name its fields (period, date_from); said to someone who typed options,
# they name the options (--period, --from): the same rule, in the command's words (common.py#in_options).
IN_OPTIONS = {"explain.give_period_week_month": "explain.cli_give_period",
              "explain.give_either_period_date": "explain.cli_period_or_range",
              "explain.give_both_vs_from": "explain.cli_both_vs", "explain.vs_from_after_vs": "explain.cli_vs_from_after",
              "explain.by_at_most_two": "explain.cli_by_at_most_two",
              "explain.factors_at_least_two": "explain.cli_factors_at_least_two",
              "explain.top_must_at_least": "explain.cli_top_at_least"}


def _show(res, fmt: str, lang: str) -> None:
    from ..reports import explain as R
    from ..reports.i18n import label

    data = res.to_dict()
    data["sentences"] = R.sentences(data, lang)
    if fmt == "json":
        emit(data, fmt)
        return
    if fmt == "csv":
        emit(res, fmt)
        return
    for line in data["sentences"]:
        console.print(line, highlight=False, markup=False)
    name = R.metric_label(data["metric"], data.get("label"), lang)
    print_rows(R.factor_rows(data, lang), label("explain_title_factors", lang).format(metric=name))
    if data.get("segments"):
        dim = " › ".join(data["by"])
        print_rows(R.segment_rows(data, lang), label("explain_title_segments", lang).format(metric=name, dimension=dim))


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics_cmd)
    app.command("explain")(explain_cmd)
