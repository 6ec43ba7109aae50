"""Seeded, realistic demo data with known ground truth (see :mod:`yunying.demo.generator`)."""
from __future__ import annotations

from .generator import generate

__all__ = ["generate"]
