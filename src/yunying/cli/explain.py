"""``yunying metrics`` (the workspace's named metrics and their series) and ``yunying explain`` (why a
metric moved: an exact split of its change by factor and by segment). Definitions: docs/explain.md."""
from __future__ import annotations

from typing import List, Optional

import typer

from .common import emit, print_rows, check_format, open_target, shared_options


@shared_options
def metrics_cmd(
    name: Optional[str] = typer.Argument(None, help="A metric to compute (without: list the metrics)."),
    interval: str = typer.Option("day", "--interval", "-i", help="day, week, month, or total (one value for the range)."),
    by: Optional[str] = typer.Option(None, "--by", help="Split by event.PROP, user.PROP or segment:A,B."),
    where: Optional[List[str]] = typer.Option(None, "--where", help="Only events where EXPR holds (repeatable; "
                                              "docs/users.md#filter-language)."),
    *, date_from, date_to, workspace, events, engine, fmt,
):
    """Named metrics (指標): without NAME the list (definition, kind, tree); with NAME its values per period."""
    from ..analyses.metrics import MetricSpec, list_metrics, metric

    check_format(fmt)
    with open_target(workspace, events, engine=engine) as ws:
        if name is None:
            rows = list_metrics(ws.engine)
            if fmt == "table":
                print_rows([{"metric": r["name"], "definition": r["definition"], "kind": r["kind"],
                             "tree": r["tree"] or ""} for r in rows], "metrics")
            else:
                emit({"metrics": rows}, fmt, rows_key="metrics")
            return
        spec = MetricSpec.build(metric=name, interval=interval, by=by, date_from=date_from, date_to=date_to,
                                filters=list(where or []) or None)
        res = metric(ws.engine, spec)
    emit(res, fmt)


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics_cmd)
