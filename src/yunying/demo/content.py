"""The demo's content operations (內容運營): a catalogue of the 200 pieces (account, platform, author, topic,
format, publish time), true share and follow rates around each account's baseline with planted
*wrong-audience*, *under-distributed* and *shares-without-follows* pieces, reads that follow each piece's
growth curve after publishing, and a share tree (referral signups carry their inviter and the shared piece).

The model (truth.json ``content_ops``):

* piece ``i`` belongs to one of ``ACCOUNTS`` (each on one platform); its true follow / share rate is the
  account's baseline × the topic's factor × lognormal(0, ``SPREAD``);
* planted pieces: ``wrong_audience`` — among the most popular, follow rate × ``WRONG_AUDIENCE_FACTOR``;
  ``under_distributed`` — lower-middle popularity, follow × ``UNDER_FOLLOW``, share × ``UNDER_SHARE``;
  ``shares_without_follows`` — middle popularity, share × ``SWF_SHARE``, follow × ``SWF_FOLLOW``;
* a view on day ``d`` picks piece ``i`` with weight ``popularity_i × g(d − publish day_i)``,
  ``g(a) = exp(−a / TAU_DAYS) + FLOOR`` for ``a >= 0`` and 0 before; a view drawn for a piece published later
  that day (after the view's time) is drawn again among the pieces published before that day;
* each referral signup's inviter is drawn uniformly among the users who signed up before (user ids are in
  signup order), and the shared piece by the same weights at the signup time; so the K-factor (referred signups
  per signed-up user) is, in expectation, the referral channel's share of expected registrations.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import DAY_US
from .words import word

ACCOUNTS = (  # id, platform, format, share of pieces, baseline follow rate, baseline share rate, publish hours
    ("wx_main", "wechat", "article", 0.30, 0.020, 0.035, (8, 12, 20, 21)),
    ("dy_video", "douyin", "video", 0.25, 0.012, 0.028, (12, 18, 19, 21, 22)),
    ("xhs_notes", "xiaohongshu", "note", 0.20, 0.016, 0.040, (11, 19, 20, 21)),
    ("zh_column", "zhihu", "answer", 0.15, 0.024, 0.020, (9, 13, 20)),
    ("wb_news", "weibo", "post", 0.10, 0.009, 0.030, (7, 9, 12, 18, 22)),
)
# topics (the catalogue's topic and the start of each title) and authors as the operator writes them, in the demo's
# language (demo/words.py: demo.topic.*, demo.author.*); TOPICS are the 简体 ones, generate()'s default
TOPIC_KEYS = ("review", "tutorial", "industry", "promotion", "user_story", "trending")
TOPICS = ("评测", "教程", "行业观察", "促销", "用户故事", "热点")
TOPIC_FOLLOW = (1.15, 1.25, 1.0, 0.8, 0.95, 0.9)
AUTHORS = ("lin", "chen", "wang", "zhao", "li", "zhou", "wu", "huang")
SPREAD = 0.18
TAU_DAYS = 4.0
FLOOR = 0.05
WRONG_AUDIENCE_FACTOR = 0.15
UNDER_FOLLOW, UNDER_SHARE = 4.0, 3.0
SWF_SHARE, SWF_FOLLOW = 3.5, 0.05
N_PLANTED = {"wrong_audience": 6, "under_distributed": 6, "shares_without_follows": 4}


@dataclass
class ContentWorld:
    account: np.ndarray        # (N,) account index
    topic: np.ndarray          # (N,) topic index
    author: np.ndarray         # (N,) author index
    pub_us: np.ndarray         # (N,) publish time, µs since the start (may be negative)
    cdf_incl: np.ndarray       # (days * N,) per-day cumulative weights + day, pieces published by the day's end
    cdf_excl: np.ndarray       # (days * N,) the same, pieces published before the day
    planted: dict              # flag -> list of piece indices


def _weights(pop: np.ndarray, pub_day: np.ndarray, days: int, strict: bool) -> np.ndarray:
    age = np.arange(days)[:, None] - pub_day[None, :]
    ok = age > 0 if strict else age >= 0
    w = np.where(ok, pop[None, :] * (np.exp(-np.maximum(age, 0) / TAU_DAYS) + FLOOR), 0.0)
    cdf = np.cumsum(w, axis=1)
    cdf /= np.where(cdf[:, -1:] > 0, cdf[:, -1:], 1.0)
    return (cdf + np.arange(days)[:, None]).ravel()


def build(seed: int, days: int, pop: np.ndarray):
    """The catalogue and the true rates: ``(ContentWorld, share_rate, follow_rate)``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 16]))
    n = pop.size
    account = rng.choice(len(ACCOUNTS), n, p=[a[3] for a in ACCOUNTS])
    topic = rng.integers(0, len(TOPICS), n)
    author = rng.integers(0, len(AUTHORS), n)
    follow = np.array([ACCOUNTS[a][4] for a in account]) * np.array(TOPIC_FOLLOW)[topic]
    follow *= rng.lognormal(-SPREAD ** 2 / 2, SPREAD, n)
    share = np.array([ACCOUNTS[a][5] for a in account]) * rng.lognormal(-SPREAD ** 2 / 2, SPREAD, n)
    pub_day = rng.integers(-10, max(days - 7, 1), n)
    rank = np.argsort(-pop, kind="stable")                     # most popular first
    late = max(days - 21, 3)
    planted: dict[str, list[int]] = {}
    bands = {"wrong_audience": (0, 20), "shares_without_follows": (40, 75), "under_distributed": (110, 170)}
    taken: set[int] = set()
    for flag, (lo, hi) in bands.items():
        cands = [int(i) for i in rank[lo:min(hi, n)] if int(i) not in taken]
        pick = sorted(rng.choice(cands, min(N_PLANTED[flag], len(cands)), replace=False).tolist())
        taken.update(pick)
        planted[flag] = pick
        pub_day[pick] = rng.integers(1, late, len(pick))      # published early enough to be read
    for i in planted["wrong_audience"]:
        follow[i] *= WRONG_AUDIENCE_FACTOR
    for i in planted["under_distributed"]:
        follow[i] *= UNDER_FOLLOW
        share[i] *= UNDER_SHARE
    for i in planted["shares_without_follows"]:
        share[i] *= SWF_SHARE
        follow[i] *= SWF_FOLLOW
    hours = [rng.choice(ACCOUNTS[a][6]) for a in account]
    pub_us = pub_day * DAY_US + (np.array(hours) * 3600 + rng.integers(0, 1800, n)) * 1_000_000
    world = ContentWorld(account, topic, author, pub_us.astype(np.int64), _weights(pop, pub_day, days, False),
                         _weights(pop, pub_day, days, True), planted)
    return world, np.minimum(share, 0.5), np.minimum(follow, 0.5)


def pick(rng, cw: ContentWorld, day: np.ndarray, t_us: np.ndarray) -> np.ndarray:
    """A piece for each view on ``day`` at ``t_us`` (µs since the start), by the day's weights."""
    n = cw.account.size
    day = day.astype(np.int64)
    c = np.searchsorted(cw.cdf_incl, day + rng.random(day.size), side="right") - day * n
    c = np.clip(c, 0, n - 1)
    late = np.flatnonzero(cw.pub_us[c] > t_us)
    if late.size:
        d = day[late]
        c2 = np.searchsorted(cw.cdf_excl, d + rng.random(late.size), side="right") - d * n
        c[late] = np.clip(c2, 0, n - 1)
    return c


def add_referrals(table: pa.Table, cw: ContentWorld, content_ids: pa.Array, rng, start_us: int) -> pa.Table:
    """Referral signups get ``properties.inviter`` (a user who signed up before) and the shared ``content_id``."""
    ref = pc.and_(pc.equal(table["event"], "signup"), pc.equal(table["channel"], "referral"))
    idx = np.flatnonzero(ref.to_numpy(zero_copy_only=False))
    if not idx.size:
        return table
    uids = table["user_id"].take(pa.array(idx)).to_pylist()
    order = np.array([int(u[1:]) - 1 for u in uids])
    width = len(uids[0]) - 1
    parent = np.floor(rng.random(idx.size) * order).astype(np.int64)
    t = table["timestamp"].take(pa.array(idx)).cast(pa.int64()).to_numpy() - start_us
    piece = pick(rng, cw, t // DAY_US, t)
    keep = order > 0                      # the first user invited nobody: unchanged
    rows, parent, piece = idx[keep], parent[keep], piece[keep]
    old_props = table["properties"].take(pa.array(rows)).to_pylist()
    props = []
    for j, text in enumerate(old_props):
        d = json.loads(text or "{}")
        d["inviter"] = f"u{parent[j] + 1:0{width}d}"
        props.append(json.dumps(d, ensure_ascii=False))
    cont = content_ids.take(pa.array(piece.astype(np.int64)))
    return _set_rows(_set_rows(table, "properties", rows, pa.array(props, pa.string())), "content_id", rows, cont)


def _set_rows(table: pa.Table, name: str, rows: np.ndarray, values: pa.Array) -> pa.Table:
    """``table`` with column ``name`` at ``rows`` replaced by ``values`` (one take over the column and the values,
    not a Python list of every row)."""
    col = table[name].combine_chunks()
    pick = np.arange(len(col), dtype=np.int64)
    pick[rows] = len(col) + np.arange(rows.size, dtype=np.int64)
    out = pa.concat_arrays([col, values.cast(col.type)]).take(pa.array(pick))
    return table.set_column(table.schema.get_field_index(name), name, out)


def topics(lang: str) -> tuple[str, ...]:
    """The topics in ``lang`` (in TOPIC_KEYS' order: TOPICS in 简体)."""
    return tuple(word(f"topic.{k}", lang) for k in TOPIC_KEYS)


def authors(lang: str) -> tuple[str, ...]:
    return tuple(word(f"author.{a}", lang) for a in AUTHORS)


def write_catalogue(path: Path, cw: ContentWorld, content_ids: list[str], start: _dt.date,
                    lang: str = "zh-Hans") -> None:
    """content.csv, its topics, titles and authors in ``lang``."""
    import csv

    names, people = topics(lang), authors(lang)
    t0 = _dt.datetime(start.year, start.month, start.day)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["content_id", "title", "platform", "account", "author", "topic", "format", "published_at",
                    "length"])
        for i, cid in enumerate(content_ids):
            a = ACCOUNTS[cw.account[i]]
            when = t0 + _dt.timedelta(microseconds=int(cw.pub_us[i]))
            w.writerow([cid, f"{names[cw.topic[i]]} #{i + 1}", a[1], a[0], people[cw.author[i]],
                        names[cw.topic[i]], a[2], when.strftime("%Y-%m-%d %H:%M:%S"), 600 + (i * 37) % 2400])


def truth(cw: ContentWorld, content_ids: list[str], start: _dt.date, expected_regs: dict,
          lang: str = "zh-Hans") -> dict:
    names, people = topics(lang), authors(lang)  # as content.csv names them
    t0 = _dt.datetime(start.year, start.month, start.day)
    total = sum(expected_regs.values())
    return {
        "catalogue_file": "content.csv",
        "accounts": {a[0]: {"platform": a[1], "baseline_follow_rate": a[4], "baseline_share_rate": a[5]}
                     for a in ACCOUNTS},
        "topic_follow_factor": dict(zip(names, TOPIC_FOLLOW)),
        "planted": {k: [content_ids[i] for i in v] for k, v in cw.planted.items()},
        "pieces": {cid: {"account": ACCOUNTS[cw.account[i]][0], "topic": names[cw.topic[i]],
                         "author": people[cw.author[i]],
                         "published_at": (t0 + _dt.timedelta(microseconds=int(cw.pub_us[i]))).isoformat()}
                   for i, cid in enumerate(content_ids)},
        "growth": {"tau_days": TAU_DAYS, "floor": FLOOR},
        "k_factor": expected_regs.get("referral", 0.0) / total if total else 0.0,
        "referral": {"event": "signup", "inviter_property": "inviter", "inviter_rule": "uniform among earlier signups"},
    }
