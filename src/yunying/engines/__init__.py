"""Query engines behind one interface.

Analyses are written once against :class:`~yunying.engines.base.Engine`
(Ibis expressions for the portable relational part; ``map_sequences`` runs a
sequence kernel over chunks of whole users and hands back mergeable partial
results) and run on DuckDB (default, embedded) or Spark (scale-out, on Parquet).
"""
from __future__ import annotations

from ..storage.workspace import register_engine_factory
from .base import Engine


def make_engine(workspace, name: str | None = None) -> Engine:
    name = name or workspace.config.engine
    if name == "duckdb":
        from .duckdb import DuckDBEngine

        return DuckDBEngine(workspace)
    if name == "spark":
        from .spark import SparkEngine

        return SparkEngine(workspace)
    from ..errors import ConfigError

    raise ConfigError(key="engines.unknown_engine_expected_duckdb", name=name)


register_engine_factory(make_engine)  # Workspace.engine (storage sits below the engines)

__all__ = ["Engine", "make_engine"]
