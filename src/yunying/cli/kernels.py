"""``yunying kernels build | status``: the analysis kernels compiled ahead of time (docs/kernels.md).

Analyses run the same kernels either way; the build only saves the ≈ 1 s of loading Numba at each start.
"""
from __future__ import annotations

import json
import time

import typer

from ..errors import YunyingError
from .common import FormatOpt, _Lang, check_format, console, err_console

kernels_app = typer.Typer(help="The analysis kernels compiled ahead of time (analyses then start without "
                               "loading Numba): build them now, or see their state.", no_args_is_help=True)


@kernels_app.command("build")
def build_cmd():
    """Compile the kernels now (about a minute, once per installation); later analyses start faster."""
    from ..reports.i18n import say
    from ..sequences.kernels import build, loader

    lang = _Lang.current()
    if loader.module_path().exists():
        console.print(say("kernels.exists", lang))
        return
    err_console.print(say("kernels.building", lang))
    t0 = time.perf_counter()
    try:
        build.build(wait=True, force=True, say=lambda _msg: None)
    except Exception as e:  # noqa: BLE001 - any failure is reported the same way: the JIT keeps working
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise YunyingError(say("kernels.failed", lang, reason=reason)) from None
    loader.reset()
    console.print(say("kernels.built", lang, seconds=f"{time.perf_counter() - t0:.0f}"))


@kernels_app.command("status")
def status_cmd(fmt: str = FormatOpt):
    """Where the built kernels are kept and whether they are built for this installation."""
    from ..reports.i18n import label, say
    from ..sequences.kernels import loader

    fmt = check_format(fmt)
    st = loader.status()
    if fmt == "json":
        typer.echo(json.dumps(st, ensure_ascii=False, indent=2))
        return
    lang = _Lang.current()
    reason = (st.get("error") or "").strip().splitlines()[-1:] or [""]
    rows = [(label("kernels.mode", lang), st["mode"]), (label("kernels.cache", lang), st["cache"]),
            (label("kernels.state", lang), say(f"kernels.state.{st['state']}", lang, reason=reason[0]))]
    if fmt == "csv":
        for k, v in rows:
            typer.echo(f"{k},{json.dumps(v, ensure_ascii=False)}")
        return
    for k, v in rows:
        console.print(f"{k}: {v}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(kernels_app, name="kernels")
