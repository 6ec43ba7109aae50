"""`yunying experiment` / `yunying plan`: the JSON contract, formats, errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
try:
    import yunying  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without an install
    sys.path.insert(0, str(ROOT / "src"))

COOKIE = ROOT / ".." / "shared" / "datasets" / "cookie_cats.csv"
runner = CliRunner()


def _app() -> typer.Typer:
    try:
        from yunying.cli import app

        return app
    except ImportError:  # the shared CLI plumbing is not there: register our commands alone
        from yunying.cli.experiment import register

        app = typer.Typer()
        register(app)
        return app


APP = _app()


def run(*args: str):
    res = runner.invoke(APP, list(args))
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res


def run_json(*args: str) -> dict:
    res = run(*args, "--format", "json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def cookie():
    if not COOKIE.exists():  # a missing published dataset is a failure, not a skip
        pytest.fail(f"Cookie Cats data set not found at {COOKIE} (../shared/datasets/cookie_cats.csv)")
    return str(COOKIE)


COOKIE_ARGS = ["--unit", "userid", "--variant", "version", "--control", "gate_30"]


def test_json_contract_frequentist(cookie):
    d = run_json("experiment", "--table", cookie, *COOKIE_ARGS, "--metric", "retention_1,retention_7",
                 "--split", "50/50")
    assert list(d)[0] == "srm"
    assert round(d["srm"]["chi2"], 4) == 6.9024 and round(d["srm"]["p_value"], 4) == 0.0086
    assert [m["metric"] for m in d["metrics"]] == ["retention_1", "retention_7"]
    r7 = d["metrics"][1]
    ctl, trt = r7["variants"]
    assert {"variant", "n", "mean"} <= set(ctl)
    assert {"variant", "n", "mean", "effect_abs", "ci_abs", "effect_rel", "ci_rel", "p_value"} <= set(trt)
    assert (ctl["variant"], ctl["n"], round(ctl["mean"], 4)) == ("gate_30", 44700, 0.1902)
    assert (trt["variant"], trt["n"], round(trt["mean"], 4)) == ("gate_40", 45489, 0.1820)
    assert round(trt["p_value"], 4) == 0.0016
    assert trt["ci_abs"][0] < trt["effect_abs"] < trt["ci_abs"][1] < 0
    assert trt["ci_rel"][0] < trt["effect_rel"] < trt["ci_rel"][1] < 0
    assert trt["effect_rel"] == pytest.approx(trt["mean"] / ctl["mean"] - 1)
    r1 = d["metrics"][0]["variants"][1]
    assert round(r1["p_value"], 4) == 0.0744


def test_json_contract_bayesian_and_sequential(cookie):
    d = run_json("experiment", "--table", cookie, *COOKIE_ARGS, "--metric", "retention_7", "--method", "bayesian")
    trt = d["metrics"][0]["variants"][1]
    assert {"chance_to_win", "risk", "effect_abs", "ci_abs", "effect_rel", "ci_rel"} <= set(trt)
    assert trt["chance_to_win"] < 0.01 and trt["risk"] == pytest.approx(-trt["effect_abs"], rel=0.01)
    s = run_json("experiment", "--table", cookie, *COOKIE_ARGS, "--metric", "retention_7", "--method", "sequential")
    st = s["metrics"][0]["variants"][1]
    assert s["method"] == "sequential" and 0.0016 < st["p_value"] <= 1
    p = run_json("experiment", "--table", cookie, *COOKIE_ARGS, "--metric", "retention_7", "--method", "bayesian",
                 "--prior-sd", "0.01")
    shrunk = p["metrics"][0]["variants"][1]
    assert abs(shrunk["effect_rel"]) < abs(trt["effect_rel"])
    assert p["spec"]["proper_prior"] is True


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 4000
    arm = rng.choice(["a", "b"], n)
    pre = rng.normal(10, 3, n)
    y = pre + np.where(arm == "b", 0.5, 0.0) + rng.normal(0, 2, n)
    df = pd.DataFrame({"id": np.arange(n), "arm": arm, "pre": pre, "y": y, "ok": rng.random(n) < 0.3,
                       "num": rng.poisson(2, n), "den": rng.poisson(4, n) + 1})
    path = tmp_path_factory.mktemp("cli") / "units.parquet"
    df.to_parquet(path)
    return str(path)


def test_covariate_quantile_ratio_guardrail_flags(synth, tmp_path):
    args = ["experiment", "--table", synth, "--unit", "id", "--variant", "arm", "--control", "a"]
    d = run_json(*args, "--metric", "y,num/den", "--covariate", "pre", "--quantile", "y@0.5",
                 "--guardrail", "ok", "--lower-is-better", "ok", "--correction", "bh",
                 "--html", str(tmp_path / "r.html"))
    by = {m["metric"]: m for m in d["metrics"]}
    assert by["y"]["cuped"]["covariate"] == "pre" and by["y"]["cuped"]["variance_reduction"] > 0.5
    assert by["num/den"]["type"] == "ratio" and by["y_p50"]["type"] == "quantile"
    assert by["ok"]["role"] == "guardrail" and by["ok"]["higher_is_better"] is False
    assert d["correction"] == "bh"
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<section" in html and "Plotly" in html
    one = run_json(*args, "--metric", "y", "--one-sided", "--alpha", "0.1")
    ci = one["metrics"][0]["variants"][1]["ci_abs"]
    assert ci[1] is None and ci[0] is not None and one["ci_level"] == pytest.approx(0.9)


def test_table_and_csv_formats(cookie):
    res = run("experiment", "--table", cookie, *COOKIE_ARGS, "--metric", "retention_7")
    assert res.exit_code == 0
    out = res.stdout
    assert "sample ratio mismatch" in out.lower()
    assert out.lower().index("sample ratio") < out.index("retention_7")  # SRM shown first
    csv = run("experiment", "--table", cookie, *COOKIE_ARGS, "--metric", "retention_7", "--format", "csv")
    lines = csv.stdout.strip().splitlines()
    assert lines[0].startswith("metric,") and len(lines) == 3


def test_plan_command():
    d = run_json("plan", "--baseline-rate", "0.19", "--mde", "0.05", "--daily-traffic", "5000")
    assert d["n_per_variant"][0] == d["n_per_variant"][1] > 20000
    assert d["days"] == -(-d["n_total"] // 5000)
    m = run_json("plan", "--mean", "50", "--stddev", "200", "--days", "14", "--daily-traffic", "10000")
    assert m["mde_abs"] > 0 and m["n_total"] == 140000
    res = run("plan", "--baseline-rate", "0.19", "--mde", "0.05", "--daily-traffic", "5000")
    assert "duration" in res.stdout


def test_workspace_events_file(tmp_path):
    rng = np.random.default_rng(1)
    rows = []
    t0 = pd.Timestamp("2026-01-01")
    for i in range(1500):
        v = "treatment" if i % 2 else "control"
        te = t0 + pd.Timedelta(hours=int(rng.integers(0, 240)))
        rows.append((f"u{i}", "$exposure", te, v, None))
        if rng.random() < (0.3 if v == "treatment" else 0.2):
            rows.append((f"u{i}", "purchase", te + pd.Timedelta(days=2), None, 20.0))
    path = tmp_path / "events.csv"
    pd.DataFrame(rows, columns=["user_id", "event", "timestamp", "variant", "revenue"]).to_csv(path, index=False)
    d = run_json("experiment", "--events", str(path), "--exposure-event", "$exposure", "--control", "control",
                 "--conversion", "purchase:14d", "--sum-metric", "revenue:purchase:14d")
    assert d["srm"]["observed"] == {"control": 750, "treatment": 750}
    names = [m["metric"] for m in d["metrics"]]
    assert names == ["purchase_conversion_14d", "purchase_revenue_sum_14d"]
    conv = d["metrics"][0]["variants"]
    assert conv[1]["mean"] > conv[0]["mean"]
    rev = d["metrics"][1]["variants"]
    assert rev[0]["mean"] == pytest.approx(20.0 * conv[0]["mean"])


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", "from yunying.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_errors_are_one_line_with_exit_code_1(synth):
    p = _cli("experiment", "--table", synth, "--unit", "id", "--variant", "arm", "--control", "a",
             "--metric", "missing_col", "--format", "json")
    assert p.returncode == 1
    assert "missing_col" in p.stderr and synth in p.stderr and "Traceback" not in p.stderr
    p = _cli("experiment", "--table", synth, "--variant", "arm", "--metric", "y", "--method", "magic")
    assert p.returncode == 1 and "--method" in p.stderr
    p = _cli("experiment", "--table", synth, "--variant", "arm", "--control", "a", "--metric", "y",
             "--split", "50/x")
    assert p.returncode == 1 and "split" in p.stderr


def test_spec_file_values_stand_unless_overridden(synth, tmp_path):
    spec = {"kind": "experiment", "table": synth, "unit": "id", "variant": "arm", "control": "a",
            "metrics": ["y", {"name": "y_p90", "column": "y", "quantile": 0.9}], "method": "bayesian",
            "alpha": 0.1}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    d = run_json("experiment", "--spec", str(path))
    assert d["method"] == "bayesian" and d["ci_level"] == pytest.approx(0.8)  # threshold 90 %: the central 80 %
    assert [m["metric"] for m in d["metrics"]] == ["y", "y_p90"]
    assert "chance_to_win" in d["metrics"][0]["variants"][1]
    d2 = run_json("experiment", "--spec", str(path), "--method", "frequentist", "--metric", "y")
    assert d2["method"] == "frequentist" and [m["metric"] for m in d2["metrics"]] == ["y"]
    assert "p_value" in d2["metrics"][0]["variants"][1]
