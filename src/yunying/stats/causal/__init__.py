"""Causal statistics for campaigns without a randomized holdout (pure numpy/scipy).

* :func:`did_panel` — two-way fixed-effects difference-in-differences on a
  balanced units x periods panel, cluster-robust (by unit) inference, and an
  event-study pre-trend check (leads, joint Wald test, gap series).
* :func:`did_means` — the 2x2 DiD of four cell means (repeated cross-sections).
* :func:`synthetic_control` — ADH synthetic control with in-space placebo
  inference (permutation p-value, placebo-based interval).

Each result has ``to_dict()`` (JSON-ready) and an ``evidence`` label
("strong", "moderate", "weak") with ``evidence_reasons`` codes; the rules are
in docs/campaigns.md.

Names are loaded on first use (PEP 562): the campaign DiD (``did``) does not load the synthetic control's module.
"""
from __future__ import annotations

import importlib

_WHERE = {  # name -> the submodule defining it
    **dict.fromkeys(("DidMeansResult", "DidResult", "PreTrend", "did_evidence", "did_means", "did_panel"), "did"),
    **dict.fromkeys(("PlaceboRun", "SyntheticControlResult", "sc_evidence", "simplex_least_squares",
                     "synthetic_control"), "synth"),
}


def __getattr__(name: str):
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "DidResult", "PreTrend", "did_panel", "did_means", "DidMeansResult", "did_evidence",
    "SyntheticControlResult", "PlaceboRun", "synthetic_control", "simplex_least_squares", "sc_evidence",
]
