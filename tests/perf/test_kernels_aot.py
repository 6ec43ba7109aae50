"""Issue 13 start-up: the kernels compiled ahead of time (sequences/kernels/loader.py, build.py) give the same bits
as Numba's JIT kernels for every kernel and signature, on random data; analyses use them without loading Numba
or SciPy; a missing, damaged or failed build falls back to the JIT with no error.

The build is made once for this module into a temporary cache folder (≈ 30 s of CPU): nothing depends on a
cache built before the tests ran."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import yunying
from yunying.sequences.kernels import build, loader
from yunying.sequences.kernels.consts import I64_MAX, I64_MIN

SRC = str(Path(yunying.__file__).resolve().parents[1])
DAY = 86_400_000_000
BASE = 1_700_000_000_000_000  # 2023-11-14


@pytest.fixture(scope="module")
def aot(tmp_path_factory):
    """The kernels built ahead of time into a fresh cache folder; the loader pointed at it (mode manual)."""
    cache = tmp_path_factory.mktemp("kernel-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("YUNYING_CACHE", str(cache))
    mp.setenv("YUNYING_KERNELS", "manual")
    loader.reset()
    assert build.build(wait=True, say=lambda _m: None) == "built"
    assert build.build(wait=True) == "exists"  # a second build is a no-op
    yield cache
    mp.undo()
    loader.reset()


def same(a, b):
    """Bit-identical: the same types, shapes, dtypes and bytes (NaN payloads included)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, np.ndarray):
        assert (a.dtype, a.shape) == (b.dtype, b.shape)
        assert a.tobytes() == b.tobytes()
    else:
        assert a == b


def both(name: str, *args):
    """The kernel run by the built module (which must accept these arguments) and by the JIT; asserts the
    same bits and returns the result."""
    k = loader.KERNELS[name]
    fns = [fn for sig, fn in k.aot_functions() if loader.matches(sig, args)]
    assert fns, f"{name}: no built signature takes these arguments"
    out = fns[0](*args)
    same(out, k.jit()(*args))
    return out


def user_runs(rng, code_dtype, n_users=400, max_len=30, n_codes=6, days=50):
    """Random per-user runs ordered by time, on a 15-minute grid (so that ties are common)."""
    lens = rng.integers(0, max_len, n_users)
    starts = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    ts = np.empty(starts[-1], np.int64)
    for u in range(n_users):
        ts[starts[u]:starts[u + 1]] = np.sort(BASE + rng.integers(0, days * 96, lens[u]) * 900_000_000)
    code = rng.integers(-1, n_codes, ts.size).astype(code_dtype)
    ts.setflags(write=False)  # as the memory-mapped sequence store hands them
    return starts, ts, code


ZONES = {"fixed": (np.array([I64_MIN], np.int64), np.array([8 * 3600 * 10 ** 6], np.int64)),
         "dst": (np.array([I64_MIN, BASE + 9 * DAY + 3_600_000_000, BASE + 30 * DAY], np.int64),
                 np.array([3600, 7200, 3600], np.int64) * 10 ** 6)}
CODES = [np.int8, np.int32]


def _funnel_plan(rng, n_steps, distinct, excl):
    n_names = 6
    steps = list(rng.choice(n_names, n_steps, replace=False) if distinct else rng.integers(0, n_names, n_steps))
    step_mask, excl_mask = np.zeros(n_names, np.int64), np.zeros(n_names, np.int64)
    for k, s in enumerate(steps):
        step_mask[s] |= 1 << k
    frm, to = [], []
    for e in range(excl):
        f = int(rng.integers(0, n_steps - 1))
        frm.append(f)
        to.append(int(rng.integers(f + 1, n_steps)))
        excl_mask[int(rng.integers(0, n_names))] |= 1 << e
    dist = list(dict.fromkeys(steps))
    step_count = np.array([dist.index(c) if c in dist else -1 for c in range(n_names)], np.int64)
    mult = np.array([steps.count(d) for d in dist], np.int64)
    step_of = np.array([steps.index(c) if c in steps else -1 for c in range(n_names)], np.int64)
    return step_mask, excl_mask, np.array(frm, np.int64), np.array(to, np.int64), step_count, mult, step_of


@pytest.mark.parametrize("code_dtype", CODES)
@pytest.mark.parametrize("mode,repeat,excl,bounded", [
    (0, False, 0, False), (0, False, 2, True), (0, True, 1, False), (1, False, 0, True), (1, True, 2, False),
    (2, False, 0, False), (2, False, 1, True)])
def test_funnel_kernel_same_bits(aot, code_dtype, mode, repeat, excl, bounded):
    rng = np.random.default_rng(10 * mode + excl + repeat)
    starts, ts, code = user_runs(rng, code_dtype)
    n_steps = 3 + mode % 2
    sm, em, frm, to, sc, mult, _ = _funnel_plan(rng, n_steps, distinct=False, excl=excl)
    lo = np.int64(BASE + 5 * DAY) if bounded else I64_MIN
    hi = np.int64(BASE + 30 * DAY) if bounded else I64_MAX
    users, levels, rows = both("funnel_kernel", starts, ts, code, sm, em, n_steps, np.int64(3 * DAY), mode, repeat,
                               lo, hi, hi, frm, to, sc, mult)
    assert levels.size > 50 and (levels >= 2).any()  # not a vacuous comparison


@pytest.mark.parametrize("code_dtype", CODES)
def test_funnel_one_pass_and_step_times_same_bits(aot, code_dtype):
    rng = np.random.default_rng(7)
    starts, ts, code = user_runs(rng, code_dtype)
    *_, step_of = _funnel_plan(rng, 4, distinct=True, excl=0)
    users, levels, rows, sts = both("funnel_ordered_distinct", starts, ts, code, step_of, 4, np.int64(7 * DAY),
                                    np.int64(BASE + DAY), np.int64(BASE + 40 * DAY), I64_MAX)
    assert (levels >= 3).sum() > 10
    lv, sts = levels.astype(np.int64), np.ascontiguousarray(sts)
    k = loader.KERNELS["step_time_stats"]
    fns = [fn for sig, fn in k.aot_functions() if loader.matches(sig, (lv, sts, 1, 4, np.full((4, 5), np.nan)))]
    assert fns
    stats = fns[0](lv, sts, 1, 4, np.full((4, 5), np.nan))
    same(stats, k.jit()(lv, sts, 1, 4, np.full((4, 5), np.nan)))
    assert np.isnan(stats[0]).all() and stats[1, 0] == (levels >= 2).sum()
    for s in (2, 3):  # any two runs of steps fill the rows of one run
        two = fns[0](lv, sts, 1, s, np.full((4, 5), np.nan))
        same(fns[0](lv, sts, s, 4, two), stats)
    for step in (1, 2, 3):  # the oracle: NumPy over the attempts that reached the step
        reached = lv > step
        prev, first = sts[reached, step] - sts[reached, step - 1], sts[reached, step] - sts[reached, 0]
        assert stats[step, 2] == np.median(prev) / 1e6 and stats[step, 4] == np.median(first) / 1e6
        assert np.isclose(stats[step, 1], prev.mean() / 1e6) and np.isclose(stats[step, 3], first.mean() / 1e6)


@pytest.mark.parametrize("code_dtype", CODES + [np.int16])
@pytest.mark.parametrize("masked,bounded", [(False, False), (True, True)])
def test_funnel_on_store_in_place_same_bits(aot, code_dtype, masked, bounded):
    """The one-pass kernel as it reads a sequence store's block in place (users u0..u1, a keep mask, bounds)."""
    rng = np.random.default_rng(11 + masked)
    starts, ts, code = user_runs(rng, code_dtype)
    *_, step_of = _funnel_plan(rng, 3, distinct=True, excl=0)
    keep = rng.random(starts.size - 1) < 0.7 if masked else np.zeros(0, np.bool_)
    lo = np.int64(BASE + 3 * DAY) if bounded else I64_MIN
    hi = np.int64(BASE + 45 * DAY) if bounded else I64_MAX
    users, levels, rows, sts, n_read = both("funnel_ordered_users", starts, ts, code, step_of, 20, 380, lo, hi,
                                            keep, 3, np.int64(5 * DAY), np.int64(BASE + DAY),
                                            np.int64(BASE + 40 * DAY), I64_MAX)
    assert n_read > 100 and (levels >= 2).sum() > 10
    outs = []
    for k in ("aot", "jit"):  # into the caller's arrays (the analysis's path), without the rows
        o = (np.zeros(400, np.int64), np.zeros(400, np.int8), np.zeros((0, 3), np.int64), np.zeros((400, 3), np.int64))
        fns = [fn for sig, fn in loader.KERNELS["funnel_ordered_into"].aot_functions()
               if loader.matches(sig, (starts, ts, code, step_of, 20, 380, lo, hi, keep, 3, np.int64(5 * DAY),
                                       np.int64(BASE + DAY), np.int64(BASE + 40 * DAY), I64_MAX, *o))]
        fn = fns[0] if k == "aot" else loader.KERNELS["funnel_ordered_into"].jit()
        assert fns or k == "jit"
        n = fn(starts, ts, code, step_of, 20, 380, lo, hi, keep, 3, np.int64(5 * DAY), np.int64(BASE + DAY),
               np.int64(BASE + 40 * DAY), I64_MAX, *o)
        outs.append((n, o))
    for n, (o_user, o_level, _, o_ts) in outs:
        assert n == (users.size, n_read)
        same((o_user[:users.size], o_level[:users.size], o_ts[:users.size]), (users, levels, sts))


@pytest.mark.parametrize("code_dtype", CODES)
@pytest.mark.parametrize("first_only,window", [(False, 0), (True, 2 * DAY)])
def test_interval_kernel_same_bits(aot, code_dtype, first_only, window):
    rng = np.random.default_rng(3)
    starts, ts, code = user_runs(rng, code_dtype)
    first, then = np.zeros(6, np.bool_), np.zeros(6, np.bool_)
    first[[0, 2]] = True
    then[[2, 3]] = True
    users, secs = both("interval_kernel", starts, ts, code, first, then, np.int64(window), I64_MIN, I64_MAX,
                       first_only)
    assert secs.size > 30 and (first_only or (secs == 0).any())  # ties give zero intervals


def _ordinals(ts, zone, unit):
    return loader.KERNELS["local_ordinals"].jit()(np.asarray(ts), *ZONES[zone], unit)


@pytest.mark.parametrize("code_dtype", CODES)
@pytest.mark.parametrize("zone,unit", [("fixed", 0), ("dst", 1), ("dst", 2)])
def test_calendar_kernels_same_bits(aot, code_dtype, zone, unit):
    rng = np.random.default_rng(unit)
    starts, ts, code = user_runs(rng, code_dtype)
    points, offsets = ZONES[zone]
    ords = both("local_ordinals", ts, points, offsets, unit)
    lo, hi = int(ords.min()), int(ords.max())
    mask = np.array([True, False, True, True, False, False])
    for any_event in (False, True):
        out = both("lifecycle_kernel", starts, ts, code, mask, any_event, points, offsets, unit, lo + 1, hi)
        assert out.sum() > 0
    days = _ordinals(ts, zone, 0)
    dau, per, hist = both("activity_kernel", starts, ts, code, mask, False, points, offsets, unit,
                          int(days.min()), int(days.max()), lo, hi, {0: 1, 1: 7, 2: 31}[unit])
    assert dau.sum() > 0 and hist.sum() == per.sum()


@pytest.mark.parametrize("code_dtype", CODES)
@pytest.mark.parametrize("first_time,has_value,n_b", [(True, False, 1), (False, True, 3), (True, True, 2)])
def test_retention_kernel_same_bits(aot, code_dtype, first_time, has_value, n_b):
    rng = np.random.default_rng(n_b)
    starts, ts, code = user_runs(rng, code_dtype)
    points, offsets = ZONES["dst"]
    ords = _ordinals(ts, "dst", 1)
    lo, hi = int(ords.min()), int(ords.max())
    start, ret = np.zeros(6, np.bool_), np.zeros(6, np.bool_)
    start[0], ret[[1, 2]] = True, True
    col_lo = np.array([0, 1, 2, 1], np.int64)
    col_hi = np.array([0, 1, 2, 3], np.int64)
    bcode = rng.integers(0, n_b, ts.size).astype(np.int32)
    value = rng.normal(50, 20, ts.size)
    value[rng.random(ts.size) < 0.1] = np.nan
    counts, sums = both("retention_kernel", starts, ts, code, start, ret, False, False, points, offsets, 1, first_time,
                        lo, hi - 1, hi, col_lo, col_hi, bcode, n_b, value, has_value)
    assert counts[:, :, 0].sum() > 100 and counts[:, :, 1].sum() > 0
    assert (sums.sum() != 0) == has_value


@pytest.mark.parametrize("backward,collapse,all_occ,gap", [(False, False, False, 0), (True, True, True, DAY)])
def test_paths_kernel_same_bits(aot, backward, collapse, all_occ, gap):
    rng = np.random.default_rng(5)
    starts, ts, code = user_runs(rng, np.int32)
    users, seq = both("paths_kernel", starts, ts, code, np.int32(1), backward, 4, np.int64(gap), collapse, I64_MIN,
                      I64_MAX, all_occ)
    assert users.size > 50 and (seq[:, 0] >= 0).any()


@pytest.mark.parametrize("otype", [np.int32, np.int64])
def test_run_kernels_same_bits(aot, otype):
    rng = np.random.default_rng(11)
    ids = np.sort(rng.integers(0, 500, 3000))
    keys = ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    assert both("key_runs", keys).size == np.unique(ids).size + 1
    for width in (8, 16):
        text = [f"u{i:0{width - 1}d}" for i in ids]
        data = np.frombuffer("".join(text).encode(), np.uint8)
        offsets = np.arange(0, width * (len(text) + 1), width, dtype=otype)
        assert both("fixed_width_runs", offsets, data.view(np.uint64), width // 8).size == np.unique(ids).size + 1
        assert both("string_run_starts", offsets, data, 0).size == np.unique(ids).size + 1
    ragged = [f"u{i}" for i in ids]  # unequal lengths: fixed_width_runs says no (an empty array)
    data = np.frombuffer("".join(ragged).encode(), np.uint8)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in ragged])]).astype(otype)
    assert both("string_run_starts", offsets, data, 0).size == np.unique(ids).size + 1
    padded = np.zeros(-(-data.size // 8) * 8, np.uint8)
    padded[:data.size] = data
    assert both("fixed_width_runs", offsets, padded.view(np.uint64), 1).size == 0


@pytest.mark.parametrize("in_code,out_code", [(np.int16, np.int8), (np.int16, np.int32), (np.int32, np.int8),
                                              (np.int32, np.int32)])
def test_store_rows_same_bits(aot, in_code, out_code):
    rng = np.random.default_rng(2)
    starts, ts, code = user_runs(rng, in_code, n_codes=9)
    code[code < 0] = 0  # the store codes every event
    lut = np.array([-1, 0, 1, -1, 2, 3, -1, 4, 5], np.int32)
    n_users = starts.size - 1
    for keep_all, keep in ((False, np.zeros(0, np.bool_)), (True, rng.random(n_users) < 0.5)):
        outs = []
        for _ in range(2):  # each run writes into zeroed arrays of its own
            o = (np.zeros(ts.size, np.int64), np.zeros(ts.size, out_code), np.zeros(n_users + 1, np.int64),
                 np.zeros(n_users, np.int64))
            outs.append(o)
        k = loader.KERNELS["select_rows"]
        args = (starts, ts, code, lut, keep_all, np.int64(BASE + DAY), np.int64(BASE + 40 * DAY), np.int64(10),
                np.int64(n_users - 5))
        fn = [f for s, f in k.aot_functions() if loader.matches(s, args + outs[0] + (keep,))]
        assert fn
        r = fn[0](*args, *outs[0], keep)
        same(r, k.jit()(*args, *outs[1], keep))
        for x, y in zip(outs[0], outs[1]):
            same(x, y)
        assert r[0] > 100


def test_arguments_the_build_has_no_signature_for_run_on_the_jit(aot):
    """The compiled wrapper checks only an array's item size: anything else must not reach it."""
    sig = loader.variants(loader.SIGNATURES["key_runs"][1])[0]
    keys = np.arange(10, dtype=np.uint64)
    assert loader.matches(sig, (keys,))
    assert not loader.matches(sig, (keys.view(np.int64),))          # another dtype of the same size
    assert not loader.matches(sig, (np.arange(20, dtype=np.uint64)[::2],))  # not contiguous
    assert not loader.matches(sig, ([1, 2],))
    s_i8 = loader.variants(loader.SIGNATURES["local_ordinals"][1])[0]
    ts = np.arange(5, dtype=np.int64)
    assert loader.matches(s_i8, (ts, ts, ts, 1)) and loader.matches(s_i8, (ts, ts, ts, np.int64(1)))
    assert not loader.matches(s_i8, (ts, ts, ts, True)) and not loader.matches(s_i8, (ts, ts, ts, np.int32(1)))
    # a call with such arguments still works (the JIT kernel): same runs as for the contiguous copy
    strided = np.repeat(np.arange(10, dtype=np.uint64), 2)[::2]
    same(loader.KERNELS["key_runs"](strided), loader.KERNELS["key_runs"](np.ascontiguousarray(strided)))


@pytest.fixture(scope="module")
def store_ws(tmp_path_factory):
    """A workspace with a fresh sequence store: 400 users, a few events each over 6 weeks."""
    d = tmp_path_factory.mktemp("aot-ws")
    ws = yunying.Workspace.init(d / "ws")
    rng = np.random.default_rng(1)
    with open(d / "e.csv", "w") as fh:
        fh.write("user_id,event,timestamp,revenue\n")
        for u in range(400):
            for _ in range(int(rng.integers(1, 12))):
                ev = ["signup", "open", "view", "purchase"][int(rng.integers(0, 4))]
                t = np.datetime64("2024-01-01T00:00") + np.timedelta64(int(rng.integers(0, 42 * 24 * 4)) * 15, "m")
                fh.write(f"u{u},{ev},{str(t).replace('T', ' ')}:00,{rng.integers(1, 100)}\n")
    ws.import_events([str(d / "e.csv")])
    assert ws.refresh_sequence_store(force=True)
    ws.close()
    return str(d / "ws")


ANALYSES = """
import json, sys, yunying
ws = yunying.open({ws!r}, read_only=True)
out = [yunying.funnel(ws, steps=['signup', 'view', 'purchase'], window='7d').to_dict(),
       yunying.funnel(ws, steps=['signup', 'view', 'view'], order='strict', repeat=True).to_dict(),
       yunying.funnel(ws, steps=['view', 'purchase'], order='unordered',
                      exclusions=[{{'event': 'open', 'from_step': 1, 'to_step': 2}}]).to_dict(),
       yunying.retention(ws, start_event='signup', return_event='open', period='week').to_dict(),
       yunying.lifecycle(ws).to_dict(), yunying.stickiness(ws).to_dict(),
       yunying.paths(ws, event='signup').to_dict(),
       yunying.analysis('intervals', ws, {{'first_event': 'signup', 'then_event': 'purchase'}}).to_dict()]
print(json.dumps({{'out': out, 'loaded': [m for m in ('numba', 'scipy') if m in sys.modules]}}, default=str))
"""


def _run_analyses(ws: str, env: dict) -> dict:
    p = subprocess.run([sys.executable, "-c", ANALYSES.format(ws=ws)], capture_output=True, text=True, timeout=600,
                       env={"PYTHONPATH": SRC, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env})
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_analyses_use_the_build_without_numba_or_scipy_and_answer_the_same(aot, store_ws):
    built = _run_analyses(store_ws, {"YUNYING_CACHE": str(aot), "YUNYING_KERNELS": "manual"})
    jit = _run_analyses(store_ws, {"YUNYING_CACHE": str(aot), "YUNYING_KERNELS": "jit"})
    assert built["loaded"] == [] and "numba" in jit["loaded"]
    assert built["out"] == jit["out"]
    assert built["out"][0]["steps"][0]["count"] > 0


def test_a_missing_damaged_or_failed_build_falls_back_to_the_jit(tmp_path, monkeypatch):
    monkeypatch.setenv("YUNYING_CACHE", str(tmp_path))
    monkeypatch.setenv("YUNYING_KERNELS", "auto")
    spawned = []
    monkeypatch.setattr(loader, "start_background_build", lambda k: spawned.append(k) or True)
    keys = np.array([1, 1, 2], np.uint64)
    try:
        loader.reset()
        same(loader.key_runs(keys), np.array([0, 2, 3], np.int64))  # missing: the JIT, and a build is started
        assert spawned == [loader.key()]
        loader.reset()
        loader.module_path().parent.mkdir(parents=True, exist_ok=True)
        loader.module_path().write_bytes(b"not a shared library")
        same(loader.key_runs(keys), np.array([0, 2, 3], np.int64))  # damaged: the JIT, no error
        assert loader.compiled_module() is None and len(spawned) == 1
        assert not loader.module_path().exists() and loader.status()["state"] == "failed"  # removed, said why
        assert "could not load" in loader.status()["error"]
        loader.failed_path().unlink()
        monkeypatch.setattr(build, "_compile", lambda name, out: (_ for _ in ()).throw(RuntimeError("no cc")))
        with pytest.raises(RuntimeError):
            build.build(wait=True)
        assert "no cc" in loader.failed_path().read_text() and loader.status()["state"] == "failed"
        assert build.build(wait=False) == "skipped"  # a background build does not retry a failed one
        monkeypatch.undo()
        monkeypatch.setenv("YUNYING_CACHE", str(tmp_path))
        loader.reset()
        assert not loader.start_background_build(loader.key())  # nor is one started
        assert not list(tmp_path.glob("kernels/build-*"))  # no temporary build folder is left behind
    finally:
        loader.reset()


def test_every_kernel_is_importable_by_its_name_and_has_a_source():
    import pickle

    for name, k in loader.KERNELS.items():
        assert getattr(loader, name) is k and k.name == name
        assert pickle.loads(pickle.dumps(k)) is k  # by name: a Spark executor gets its own loader's kernel
        assert k.jit().py_func.__name__ == name  # the JIT kernel of that name in its module
        # one signature token per parameter: a kernel given a new parameter needs its SIGNATURES entry updated
        assert {len(s) for s in k.sigs} == {k.jit().py_func.__code__.co_argcount}, name


def test_the_key_follows_the_kernel_sources(tmp_path, monkeypatch):
    """A changed kernel source is a different build (never a stale module for new code)."""
    for f in loader.HERE.glob("*.py"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    monkeypatch.setattr(loader, "HERE", tmp_path)
    k0 = loader.key()
    assert k0 == loader.key()
    with open(tmp_path / "funnel.py", "a") as fh:
        fh.write("\n# changed\n")
    assert loader.key() != k0


def test_the_kernels_command_says_where_and_what(aot, tmp_path, capsys, monkeypatch):
    from util import cli

    monkeypatch.setenv("YUNYING_CACHE", str(aot))
    code, out, _ = cli(capsys, monkeypatch, "kernels", "status", "--format", "json")
    st = json.loads(out)
    assert code == 0 and st["state"] == "built" and Path(st["module"]).exists() and st["mode"] == "manual"
    code, out, _ = cli(capsys, monkeypatch, "kernels", "build", "--lang", "zh-Hans")
    assert code == 0 and "本安装已编译" in out
    monkeypatch.setenv("YUNYING_CACHE", str(tmp_path))
    code, out, _ = cli(capsys, monkeypatch, "kernels", "status", "--lang", "zh-Hant")
    assert code == 0 and "未編譯" in out and str(tmp_path) in out


def test_a_build_removes_what_other_keys_left_unused(tmp_path, monkeypatch):
    """The cache keeps one build per key: a build removes the modules and failure notes of other keys that no
    process has loaded for UNUSED_DAYS days, and folders of stopped builds; a module another installation has
    loaded recently stays, and nothing is removed while another build holds the lock."""
    import time

    monkeypatch.setenv("YUNYING_CACHE", str(tmp_path))
    d = loader.cache_dir()
    d.mkdir(parents=True)
    ext = loader.module_path("x").name[len(loader.PREFIX) + 1:]
    old_mod, used_mod = d / f"{loader.PREFIX}{'a' * 20}{ext}", d / f"{loader.PREFIX}{'b' * 20}{ext}"
    old_note, stopped = d / f"{loader.PREFIX}{'c' * 20}.failed", d / "build-stopped"
    for p in (old_mod, used_mod, old_note):
        p.write_bytes(b"x")
    stopped.mkdir()
    (stopped / "half.o").write_bytes(b"x")
    month_ago = time.time() - 30 * 86_400
    for p in (old_mod, used_mod, old_note):
        os.utime(p, (month_ago, month_ago))
    loader.mark_used(used_mod)  # loaded by another installation today
    assert used_mod.stat().st_mtime > time.time() - 60
    other = d / "unrelated.txt"
    other.write_text("not ours")

    def fake_compile(name, out):
        (out / "m.so").write_bytes(b"built")
        return out / "m.so"

    monkeypatch.setattr(build, "_compile", fake_compile)
    with build._locked(d / "build.lock", wait=True):  # another build running: this one neither builds nor prunes
        assert build.build(wait=False) == "busy"
    assert old_mod.exists() and stopped.exists()
    assert build.build(wait=True, say=lambda _m: None) == "built"
    assert loader.module_path().read_bytes() == b"built"
    assert not old_mod.exists() and not old_note.exists() and not stopped.exists()
    assert used_mod.exists() and other.exists() and (d / "build.lock").exists()


def test_a_module_stamp_is_renewed_once_a_day_and_a_vanished_module_is_no_failure(tmp_path, monkeypatch):
    import time

    monkeypatch.setenv("YUNYING_CACHE", str(tmp_path))
    loader.cache_dir().mkdir(parents=True)
    path = loader.cache_dir() / "m.so"
    path.write_bytes(b"x")
    hour_ago = time.time() - 3600
    os.utime(path, (hour_ago, hour_ago))
    loader.mark_used(path)
    assert abs(path.stat().st_mtime - hour_ago) < 1  # loaded within the day: no write at every start
    k = "d" * 20
    assert loader._load(k, loader.module_path(k)) is None  # removed by a prune between the check and the load
    assert not loader.failed_path(k).exists()
    assert loader._load(k, path) is None and loader.failed_path(k).exists()  # a damaged file is a failure
    assert not path.exists()
