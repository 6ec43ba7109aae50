"""Campaign analyses (issue 15). ``table``: the per-unit table mode of the campaign review."""
from __future__ import annotations

from .table import review_table

__all__ = ["review_table"]
