"""yunying (運營): operations analytics on your own event and spend data.

>>> import yunying
>>> ws = yunying.open("my-workspace")                      # doctest: +SKIP
>>> yunying.trends(ws.engine, active=True, measure="users", interval="week").to_pandas()  # doctest: +SKIP
"""
from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from .errors import YunyingError  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    from .storage.workspace import Workspace


def _engine(workspace, name=None):
    """Workspace.engine's factory until ``yunying.engines`` is imported (it registers its own then)."""
    from .engines import make_engine

    return make_engine(workspace, name)


def __getattr__(name: str):
    """``yunying.Workspace`` is imported on first use: ``import yunying`` (and the CLI's ``--help``) stays
    light, without DuckDB, Arrow or pydantic."""
    if name == "Workspace":
        from .storage.workspace import Workspace, register_engine_factory

        register_engine_factory(_engine)
        globals()["Workspace"] = Workspace
        return Workspace
    raise AttributeError(f"module 'yunying' has no attribute {name!r}")


def open(path=".", *, read_only: bool = False, engine: str | None = None) -> Workspace:  # noqa: A001
    """Open a workspace folder. ``engine`` overrides the one in yunying.toml."""
    ws = __getattr__("Workspace").open(path, read_only=read_only)
    if engine:
        ws.use_engine(engine)
    return ws


def from_events(*files: str, **mapping: str) -> Workspace:
    """An in-memory workspace built from event files (columns auto-mapped)."""
    ws = __getattr__("Workspace").in_memory()
    ws.import_events(list(files), mapping=mapping or None)
    return ws


def _run(kind: str, engine, spec, kwargs):
    from .analyses.registry import get

    a = get(kind)
    if spec is None:
        spec = a.spec_class.build(**kwargs)
    return a.run(_engine_of(engine), spec)


def _api(kind: str, doc: str):
    """``yunying.<kind>(ws_or_engine, spec=None, **spec_fields)``: the analysis ``kind`` of the registry."""
    def run(engine, spec=None, **kwargs):
        return _run(kind, engine, spec, kwargs)

    run.__name__ = run.__qualname__ = kind
    run.__doc__ = doc
    return run


trends = _api("trends", "Counts, unique users or property aggregates per period: "
                        "``yunying.trends(ws, active=True, measure=\"users\", interval=\"week\")``.")
new_users = _api("new_users", "New users (first signup) per period, optionally by first-touch channel.")
revenue = _api("revenue", "Revenue, purchases and paying users per period.")
overview = _api("overview", "The week-over-week operations overview.")
funnel = _api("funnel", "Funnel: ``yunying.funnel(ws, steps=[\"signup\", \"activate\", \"purchase\"], window=\"7d\")``.")
retention = _api("retention", "Cohort retention: "
                              "``yunying.retention(ws, start_event=\"signup\", return_event=\"app_open\", period=\"week\")``.")
lifecycle = _api("lifecycle", "New, returning, resurrecting and dormant users per period.")
stickiness = _api("stickiness", "Days active per week/month and DAU/MAU.")
paths = _api("paths", "Most common paths after/before an event, as Sankey edges.")
channels = _api("channels", "Acquisition by channel/campaign/placement joined to spend.")
experiment = _api("experiment", "An A/B test on workspace events (exposure event + metric definitions).")
metric = _api("metric", "A named metric of yunying.toml per period: ``yunying.metric(ws, metric=\"gmv\", interval=\"week\")``.")
explain = _api("explain", "Why a metric moved, split exactly by factor and segment: "
                          "``yunying.explain(ws, metric=\"revenue\", period=\"week\", by=[\"channel\"])``.")


def analysis(kind: str, engine, spec: dict | str):
    """Run any analysis by name with a JSON/dict spec (the same specs the query API takes)."""
    from .analyses.registry import get

    return get(kind).run(_engine_of(engine), spec)


def _engine_of(obj):
    return obj.engine if isinstance(obj, __getattr__("Workspace")) else obj


__all__ = ["Workspace", "YunyingError", "open", "from_events", "trends", "new_users", "revenue", "overview",
           "funnel", "retention", "lifecycle", "stickiness", "paths", "channels", "experiment",
           "analysis", "__version__"]
