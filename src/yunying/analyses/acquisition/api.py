"""The acquisition analyses' entry points: on the DuckDB engine over its whole events table (no filter) the tables
are computed without pandas (:mod:`.lean`, :mod:`.lean_budget`: SQL and numpy, issue 13's start-up); filters and
other engines take the portable path (Ibis or SQL loading into pandas frames). Both give the same tables
(tests/acquisition/test_acquisition_lean.py)."""
from __future__ import annotations

from .. import sql
from .specs import AttributionSpec, BudgetSpec, ChannelsSpec, PlacementsSpec


def lean_path(engine, spec) -> bool:
    """Whether ``spec`` runs on the pandas-free path: plain DuckDB, no filters."""
    return sql.plain_duckdb(engine) and not getattr(spec, "filters", None)


def channels(engine, spec: ChannelsSpec | None = None, **kwargs):
    """The channel / campaign / placement table (docs/acquisition.md#channels)."""
    spec = spec or ChannelsSpec.build(**kwargs)
    if lean_path(engine, spec):
        from . import lean
        return lean.channels(engine, spec)
    from .channels_pd import channels as run
    return run(engine, spec)


def placements(engine, spec: PlacementsSpec | None = None, **kwargs):
    """The placement funnel with leak flags and CAC ranking (docs/acquisition.md#placements)."""
    spec = spec or PlacementsSpec.build(**kwargs)
    if lean_path(engine, spec):
        from . import lean
        return lean.placements(engine, spec)
    from .placements_pd import placements as run
    return run(engine, spec)


def attribution(engine, spec: AttributionSpec | None = None, **kwargs):
    """Registrations and revenue per key under each attribution model (docs/acquisition.md#attribution)."""
    spec = spec or AttributionSpec.build(**kwargs)
    if lean_path(engine, spec):
        from . import lean
        return lean.attribution(engine, spec)
    from .compare import attribution as run
    return run(engine, spec)


def budget(engine, spec: BudgetSpec | None = None, **kwargs):
    """Response curves per paid channel and a reallocation of a budget (docs/acquisition.md#budget)."""
    spec = spec or BudgetSpec.build(**kwargs)
    if lean_path(engine, spec):
        from . import lean_budget
        return lean_budget.budget(engine, spec)
    from .budget_pd import budget as run
    return run(engine, spec)
