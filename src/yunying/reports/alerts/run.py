"""``yunying alerts run``: check every rule on its last complete period, record what fired, deliver it.

Safe from cron every few minutes (docs/alerts.md#running-from-cron): one run at a time (a second returns at
once), each period checked once per rule definition, each alert recorded once and sent once per channel,
failed deliveries retried within the run and on later runs (for 24 hours), and no failure — a broken rule,
a metric error, a receiver down — stops the other rules or deliveries: each is reported in the result.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ...analyses import alerts as AL
from ...analyses import metrics as M
from ...errors import Text, YunyingError, stored, text_of
from ...model.holidays import Calendar
from ...storage.alerts import AlertState, RunLocked
from . import channels as C
from .messages import render

RETRY_HOURS = 24.0


@dataclass
class RunReport:
    checks: list[dict] = field(default_factory=list)
    fired: list[dict] = field(default_factory=list)
    deliveries: list[dict] = field(default_factory=list)
    errors: list[Text | str] = field(default_factory=list)  # catalogue sentences: said in the reader's language
    skipped: Text | str | None = None

    @property
    def failed(self) -> bool:
        return bool(self.errors) or any(d["status"] != "sent" for d in self.deliveries)

    def to_dict(self) -> dict:
        return {"checks": self.checks, "fired": self.fired,
                "deliveries": [{**d, "error": _english(d["error"])} for d in self.deliveries],
                "errors": [str(e) for e in self.errors], "skipped": _english(self.skipped), "ok": not self.failed}


def _english(value) -> str | None:
    return None if value is None else str(value)


def _message(exc: Exception) -> Text | str:
    """An exception as a catalogue sentence when it carries one (said later in each reader's language)."""
    text = text_of(exc)
    if text is not None:
        return text
    return exc.message if isinstance(exc, YunyingError) else f"{type(exc).__name__}: {exc}"


def alert_detail(check: AL.Check, rule, cat, currency: str) -> dict:
    """What a message needs, stored with the fired alert (so a later retry renders the same text)."""
    metric = cat.get(rule.metric)
    limit = {"drop": rule.drop, "rise": rule.rise}.get(check.detail.get("crossed"))
    return {**check.detail, "condition": rule.condition, "label": metric.label, "kind": metric.kind,
            "good": metric.good, "currency": currency, "period_end": check.end.isoformat(), "limit": limit,
            "where": list(rule.where), "segment": rule.segment}


def _check_rules(ws, state: AlertState, now: dt.datetime, report: RunReport, names) -> None:
    cfg = ws.config
    calendar = Calendar.from_config(cfg.holidays)
    engine = ws.engine
    cat = M.catalog(engine)
    latest = AL.data_until(engine)
    for rule in cfg.alerts:
        if names and rule.name not in names:
            continue
        try:
            fp = AL.fingerprint(rule)
            start, end = AL.last_complete_period(now, engine.timezone, rule.period, rule.grace_minutes)
            if state.checked(rule.name, fp, rule.period, start):
                report.checks.append({"rule": rule.name, "period": rule.period, "period_start": start.isoformat(),
                                      "outcome": "checked"})
                continue
            check = AL.check_rule(engine, rule, now=now, calendar=calendar, cat=cat, latest=latest)
            report.checks.append(check.to_dict())
            if check.outcome == AL.WAITING:
                continue
            fired = None
            if check.fired:
                fired = {"metric": rule.metric, "value": check.value, "reference": check.reference,
                         "detail": alert_detail(check, rule, cat, cfg.currency)}
            fid = state.record(rule.name, fp, rule.period, check.start, check.outcome, check.value, fired,
                               list(rule.channels))
            if fid is not None:
                report.fired.append(state.alert(fid))
        except Exception as exc:  # noqa: BLE001 - one broken rule must not stop the others
            report.errors.append(Text("alerts.run.rule_failed", rule=rule.name, error=_message(exc)))


def _deliver_pending(cfg, state: AlertState, report: RunReport) -> None:
    for p in state.pending(RETRY_HOURS):
        alert = state.alert(p["fired_id"])
        row = {"rule": alert["rule"], "period_start": alert["period_start"], "channel": p["channel"]}
        channel = cfg.channels.get(p["channel"])
        try:
            if channel is None:
                attempts, error = 0, Text("alerts.run.channel_gone", channel=p["channel"])
            else:
                attempts, error = C.deliver(p["channel"], channel, render(alert, channel.lang))
        except Exception as exc:  # noqa: BLE001 - rendering or sending: reported, the run goes on
            attempts, error = 1, _message(exc)
        state.delivered(p["fired_id"], p["channel"], attempts, stored(error))  # key + parameters
        report.deliveries.append({**row, "status": "failed" if error else "sent", "attempts": attempts,
                                  "error": error})


def run_alerts(ws, *, now: dt.datetime | None = None, rules: list[str] | None = None) -> RunReport:
    """One run on an open workspace (read-only is enough: the state lives in ``alerts/``)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        raise YunyingError(key="alerts.run.run_time_must_carry")
    unknown = sorted(set(rules or []) - {r.name for r in ws.config.alerts})
    if unknown:
        raise YunyingError(key="alerts.run.unknown_alert_rule_s", unknown=unknown, value=[r.name for r in ws.config.alerts])
    report = RunReport()
    with AlertState(ws.path) as state:
        try:
            state.lock()
        except RunLocked:
            report.skipped = Text("alerts.run.locked")
            return report
        run_id = state.start_run()
        try:
            _check_rules(ws, state, now, report, set(rules or []))
        except Exception as exc:  # noqa: BLE001 - e.g. a bad [metrics] entry: reported, deliveries still go out
            report.errors.append(_message(exc))
        try:
            _deliver_pending(ws.config, state, report)
        except Exception as exc:  # noqa: BLE001
            report.errors.append(Text("alerts.run.deliveries_failed", error=_message(exc)))
        sent = sum(d["status"] == "sent" for d in report.deliveries)
        state.finish_run(run_id, len(report.checks), len(report.fired), sent, len(report.deliveries) - sent,
                         [stored(e) for e in report.errors])
    return report


def test_rule(ws, name: str, *, now: dt.datetime | None = None, start: dt.date | None = None,
              send: bool = False, lang: str = "en") -> dict:
    """``alerts test RULE``: check one rule (its last complete period, or the one starting ``start``) and show
    the message it would send, recording nothing; ``send``: deliver it, marked as a test, to its channels."""
    cfg = ws.config
    rule = next((r for r in cfg.alerts if r.name == name), None)
    if rule is None:
        raise YunyingError(key="alerts.run.no_alert_rule_rules", name=name, value=[r.name for r in cfg.alerts])
    now = now or dt.datetime.now(dt.timezone.utc)
    engine = ws.engine
    cat = M.catalog(engine)
    check = AL.check_rule(engine, rule, now=now, calendar=Calendar.from_config(cfg.holidays), cat=cat, start=start)
    out = {"check": check.to_dict(), "message": None, "deliveries": []}
    if check.outcome in (AL.FIRED, AL.OK) and check.value is not None:
        from ..i18n import label

        if not check.fired:  # show what a message would look like anyway
            check.detail.setdefault("crossed", _would_cross(rule))
        alert = {"rule": rule.name, "metric": rule.metric, "period": rule.period,
                 "period_start": check.start.isoformat(), "value": check.value, "reference": check.reference,
                 "detail": alert_detail(check, rule, cat, cfg.currency)}
        note = label("alerts.test_note", lang)
        out["message"] = render(alert, lang, note=note)["text"]
        if send:
            for ch in rule.channels:
                channel = cfg.channels[ch]
                attempts, error = C.deliver(ch, channel, render(alert, channel.lang, note=label("alerts.test_note",
                                                                                               channel.lang)))
                out["deliveries"].append({"channel": ch, "status": "failed" if error else "sent",
                                          "attempts": attempts, "error": error})
    return out


def _would_cross(rule) -> str:
    if rule.condition == "threshold":
        return "above" if rule.above is not None else "below"
    if rule.condition == "change":
        return "drop" if rule.drop is not None else "rise"
    return "below" if rule.direction == "down" else "above"
