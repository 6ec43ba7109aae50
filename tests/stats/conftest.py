"""Shared fixtures for the experiment statistics tests."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
try:
    import yunying.stats  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without an install
    sys.path.insert(0, str(ROOT / "src"))

COOKIE_CATS = ROOT / ".." / "shared" / "datasets" / "cookie_cats.csv"


@pytest.fixture(scope="session")
def cookie_cats_path() -> Path:
    if not COOKIE_CATS.exists():  # a published-figure test must not vanish: a missing dataset is a failure
        pytest.fail(f"Cookie Cats data set not found at {COOKIE_CATS} (expected ../shared/datasets/cookie_cats.csv "
                    "relative to the repository root)")
    return COOKIE_CATS


@pytest.fixture(scope="session")
def cookie_cats(cookie_cats_path):
    import pandas as pd

    return pd.read_csv(cookie_cats_path)
