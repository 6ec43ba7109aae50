"""Campaigns (活動運營): plan, pacing, review (復盤) and the portfolio (docs/campaigns.md).

Definitions live in the workspace (``storage/campaigns.py``); these analyses read them and the events.
``table``: the per-unit table mode of the review (campaigns run in another tool).
"""
from __future__ import annotations

from ...storage import campaigns as store
from . import data

__all__ = ["assign_holdout", "load", "review_table"]


def __getattr__(name: str):
    if name == "review_table":  # the per-unit table mode (pandas): loaded when asked for (start-up time)
        from .table import review_table

        return review_table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def assign_holdout(ws, camp) -> dict:
    """Record the holdout assignment of the campaign's audience (idempotent: recorded users keep their group)."""
    ids = data.user_ids(ws.engine, data.audience(ws.engine, camp))
    return store.assign(ws, camp, ids)


def load(ws, name: str):
    if ws.path is None:
        raise store.YunyingError(key="campaigns.campaigns_live_workspace_folder")
    return store.load(ws.path, name)
