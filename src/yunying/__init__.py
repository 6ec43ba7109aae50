"""yunying (運營): operations analytics on your own event and spend data.

>>> import yunying
>>> ws = yunying.open("my-workspace")                      # doctest: +SKIP
>>> yunying.trends(ws.engine, active=True, measure="users", interval="week").to_pandas()  # doctest: +SKIP
"""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import YunyingError  # noqa: E402
from .storage.workspace import Workspace, register_engine_factory  # noqa: E402


def _engine(workspace, name=None):
    """Workspace.engine's factory until ``yunying.engines`` is imported (it registers its own then)."""
    from .engines import make_engine

    return make_engine(workspace, name)


register_engine_factory(_engine)


def open(path=".", *, read_only: bool = False, engine: str | None = None) -> Workspace:  # noqa: A001
    """Open a workspace folder. ``engine`` overrides the one in yunying.toml."""
    ws = Workspace.open(path, read_only=read_only)
    if engine:
        ws.use_engine(engine)
    return ws


def from_events(*files: str, **mapping: str) -> Workspace:
    """An in-memory workspace built from event files (columns auto-mapped)."""
    ws = Workspace.in_memory()
    ws.import_events(list(files), mapping=mapping or None)
    return ws


def trends(engine, spec=None, **kwargs):
    from .analyses.trends import trends as _trends

    return _trends(_engine_of(engine), spec, **kwargs)


def new_users(engine, spec=None, **kwargs):
    """New users (first signup) per period, optionally by first-touch channel."""
    from .analyses.users import new_users as _f

    return _f(_engine_of(engine), spec, **kwargs)


def revenue(engine, spec=None, **kwargs):
    """Revenue, purchases and paying users per period."""
    from .analyses.users import revenue as _f

    return _f(_engine_of(engine), spec, **kwargs)


def overview(engine, spec=None, **kwargs):
    """The week-over-week operations overview."""
    from .analyses.overview import overview as _f

    return _f(_engine_of(engine), spec, **kwargs)


def _run(kind: str, engine, spec, kwargs):
    from .analyses.registry import get

    a = get(kind)
    if spec is None:
        spec = a.spec_class.build(**kwargs)
    return a.run(_engine_of(engine), spec)


def funnel(engine, spec=None, **kwargs):
    """Funnel: ``yunying.funnel(ws, steps=["signup", "activate", "purchase"], window="7d")``."""
    return _run("funnel", engine, spec, kwargs)


def retention(engine, spec=None, **kwargs):
    """Cohort retention: ``yunying.retention(ws, start_event="signup", return_event="app_open", period="week")``."""
    return _run("retention", engine, spec, kwargs)


def lifecycle(engine, spec=None, **kwargs):
    """New, returning, resurrecting and dormant users per period."""
    return _run("lifecycle", engine, spec, kwargs)


def stickiness(engine, spec=None, **kwargs):
    """Days active per week/month and DAU/MAU."""
    return _run("stickiness", engine, spec, kwargs)


def paths(engine, spec=None, **kwargs):
    """Most common paths after/before an event, as Sankey edges."""
    return _run("paths", engine, spec, kwargs)


def channels(engine, spec=None, **kwargs):
    """Acquisition by channel/campaign/placement joined to spend."""
    return _run("channels", engine, spec, kwargs)


def experiment(engine, spec=None, **kwargs):
    """An A/B test on workspace events (exposure event + metric definitions)."""
    return _run("experiment", engine, spec, kwargs)


def analysis(kind: str, engine, spec: dict | str):
    """Run any analysis by name with a JSON/dict spec (the same specs the query API takes)."""
    from .analyses.registry import get

    return get(kind).run(_engine_of(engine), spec)


def _engine_of(obj):
    return obj.engine if isinstance(obj, Workspace) else obj


__all__ = ["Workspace", "YunyingError", "open", "from_events", "trends", "new_users", "revenue", "overview",
           "funnel", "retention", "lifecycle", "stickiness", "paths", "channels", "experiment",
           "analysis", "__version__"]
