"""`yunying demo`: generate the fictional app's data, import it through the normal path, report."""
from __future__ import annotations

import html
import json
import shutil
import time
from pathlib import Path
from typing import Callable

from ..config import WorkspaceConfig


class _Laps:
    """Wall and CPU seconds (this process, all its threads) of each phase of the demo, one lap after another."""

    def __init__(self):
        self.phases: dict[str, list[float]] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        """The phase ``name`` ended now (it began where the previous one ended)."""
        w, c = time.perf_counter(), time.process_time()
        self.phases[name] = [round(w - self._wall, 2), round(c - self._cpu, 2)]
        self._wall, self._cpu = w, c


def run_demo(directory: str | Path, *, users: int = 50_000, seed: int = 7, days: int = 90,
             progress: Callable | None = None, lang: str = "en") -> dict:
    """Write data to ``directory/data``, build ``directory/workspace`` (its ``lang`` setting: ``lang``), write
    ``overview.html`` in ``lang`` (en, zh-Hans or zh-Hant). What the demo writes for people into its data — the
    campaigns' plans, budget lines and descriptions, the content's topics, titles and authors, the experiment's
    metric name — is in ``lang`` too (demo/words.py); names that are identifiers (events, channels, campaigns) are not. ``progress(text, done=None, total=None)`` is told
    each stage as it starts, in ``lang`` (the catalogue's ``demo.stage.*``; ``done``/``total``: chunks generated).

    Returns the overview as a dict (the same object ``--format json`` prints). Its ``timings`` say where the
    time went: ``generate_s``, ``import_s`` and ``total_s`` (wall seconds; total from the start) and ``phases``:
    [wall, CPU] seconds of every phase, one after another (loading the analyses' modules after the generation:
    in a thread beside it they fought the generation for the interpreter and made it slower), and
    ``import_phases``: the event import's own phases (``ImportReport.phases``).
    """
    laps = _Laps()
    t0 = time.perf_counter()
    from ..reports.i18n import label, say
    from .generator import generate

    step = progress or (lambda *a, **k: None)
    directory = Path(directory)
    data_dir = directory / "data"
    ws_dir = directory / "workspace"
    timings = {}
    step(label("demo.stage.generating", lang))
    truth = generate(data_dir, users=users, days=days, seed=seed, lang=lang, progress=lambda done, total: step(
        say("demo.stage.generating_chunks", lang, done=done, total=total), done, total))
    timings["generate_s"] = time.perf_counter() - t0
    laps.lap("generate")
    from ..analyses.experiment import analyze_workspace
    from ..analyses.overview import overview
    from ..reports.acquisition import acquisition_section
    from ..reports.content import content_section
    from ..storage import content as content_store
    from ..reports.experiment import experiment_html
    from ..reports.overview import write_overview_html
    from .. import engines  # noqa: F401 - registers Workspace.engine's factory
    from ..storage.workspace import Workspace
    from ..reports.campaigns import overview_section as campaigns_section
    from .campaigns import setup_workspace as setup_campaigns
    from .spend_xlsx import write_spend_xlsx
    from .words import word

    laps.lap("load the analyses")
    if ws_dir.exists():  # a fresh workspace each run, so the overview matches this seed
        shutil.rmtree(ws_dir)
    cfg = WorkspaceConfig(name="demo", timezone=truth.get("timezone", "UTC"), lang=lang)
    t1 = time.perf_counter()
    with Workspace.init(ws_dir, cfg) as ws:
        step(label("import.stage.importing", lang))
        files = truth.get("files") or [str(data_dir / "events.parquet")]
        rep = ws.import_events([str(f) for f in files])
        step(label("demo.stage.importing_more", lang))
        ws.import_spend([str(data_dir / "spend.csv")])
        write_spend_xlsx(data_dir / "spend.csv", data_dir / "spend.xlsx")  # to try `import spend spend.xlsx`
        content_store.import_catalogue(ws, [str(data_dir / "content.csv")])
        setup_campaigns(ws, truth, lang)
        timings["import_s"] = time.perf_counter() - t1
        laps.lap("import")
        step(label("demo.stage.overview", lang))
        res = overview(ws.engine)
        laps.lap("overview")
        extra_sections = []
        extra_sections.append(acquisition_section(ws.engine, lang=lang)[0])
        laps.lap("acquisition section")
        extra_sections.append(content_section(ws.engine, lang=lang)[0])
        laps.lap("content section")
        extra_sections.append(campaigns_section(ws, langs=(lang,)))
        laps.lap("campaigns section")

        ex = truth["experiment"]
        exp = analyze_workspace(ws.engine, {
            "exposure_event": ex["exposure_event"], "control": ex["control"], "variants": ex["variants"],
            "metrics": [{"name": word("metric.purchase_within", lang, days=ex["window_days"]), "kind": "conversion",
                         "event": cfg.events.purchase,
                         "window_days": ex["window_days"]}]})
        extra_sections.append(f"<h2>{html.escape(say('exp.demo_heading', lang, name=ex['name'], days=ex['window_days'], event=cfg.events.purchase))}</h2>"
                              + experiment_html(exp, lang))
        laps.lap("experiment")
        out = res.to_dict()
        out["experiment"] = exp.to_dict()
        out["events_imported"] = rep.rows_added
        out["users"] = ws.counts()["users"]
        out["data_dir"] = str(data_dir)
        out["workspace"] = str(ws_dir)
        step(label("demo.stage.report", lang))
        write_overview_html(ws.engine, res, directory / "overview.html", extra_sections=extra_sections, lang=lang)
    timings["total_s"] = time.perf_counter() - t0
    laps.lap("write the report")
    out["timings"] = {**{k: round(v, 2) for k, v in timings.items()}, "phases": laps.phases,
                      "import_phases": rep.phases}
    (directory / "overview.json").write_text(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    return out
