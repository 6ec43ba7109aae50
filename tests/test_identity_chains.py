"""Identity chains (a -> b -> c): every id of one person ends at one user, whatever the order the links arrive in.

Hand-worked example: anonymous ``a`` opens the app on day 1; ``b`` signs up on day 2; ``c`` buys on day 3.
Links a -> b and b -> c make one person, stored as ``c`` (the end of the chain): 1 user, funnel
open -> signup -> purchase reaches [1, 1, 1].
"""
from __future__ import annotations

import itertools

import pytest

import yunying

from util import write

EVENTS = "distinct_id,event,timestamp\na,open,2026-06-01T10:00:00Z\nb,signup,2026-06-02T10:00:00Z\nc,purchase,2026-06-03T10:00:00Z\n"
LINKS = [("a", "b"), ("b", "c")]


def _check(ws):
    stored = ws.con.execute("SELECT DISTINCT user_id FROM events").fetchall()
    assert stored == [("c",)]
    assert ws.con.execute("SELECT distinct_id, user_id FROM identities ORDER BY 1").fetchall() == [("a", "c"), ("b", "c")]
    users = yunying.trends(ws, active=True, measure="users", interval="month", date_from="2026-06-01",
                           date_to="2026-06-30").to_pandas()["value"].tolist()
    assert users == [1]
    f = yunying.funnel(ws, steps=["open", "signup", "purchase"], window="7d").to_dict()
    assert [s["count"] for s in f["steps"]] == [1, 1, 1]


@pytest.mark.parametrize("order", list(itertools.permutations(range(2))))
def test_chain_links_in_separate_calls(ws, tmp_path, order):
    ws.import_events(str(write(tmp_path / "e.csv", EVENTS)))
    for i in order:
        ws.identify([LINKS[i]])
    _check(ws)


@pytest.mark.parametrize("before", [True, False])
def test_chain_links_in_event_rows(ws, tmp_path, before):
    """Links carried by event rows (distinct_id + user_id), in two imports, before or after the events."""
    rows = "distinct_id,user_id,event,timestamp\n"
    first = write(tmp_path / "l1.csv", rows + "a,b,link,2026-06-01T11:00:00Z\n")
    second = write(tmp_path / "l2.csv", rows + "b,c,link,2026-06-02T11:00:00Z\n")
    evs = write(tmp_path / "e.csv", EVENTS)
    seq = [second, first, evs] if before else [evs, second, first]
    for f in seq:
        ws.import_events(str(f))
    _check(ws)


def test_chain_links_from_identities_file_one_import(ws, tmp_path):
    ws.import_events(str(write(tmp_path / "e.csv", EVENTS)))
    ws.import_identities(str(write(tmp_path / "i.csv", "distinct_id,user_id\nb,c\na,b\n")))
    _check(ws)


def test_event_sent_under_an_alias_user_id_goes_to_the_end_of_the_chain(ws, tmp_path):
    ws.identify([("a", "b"), ("b", "c")])
    ws.import_events(str(write(tmp_path / "e.csv", "user_id,event,timestamp\nb,buy,2026-06-04T10:00:00Z\n")))
    assert ws.con.execute("SELECT user_id FROM events").fetchall() == [("c",)]


@pytest.mark.parametrize("n", [3, 4, 5])
def test_longer_cycles_are_one_person(ws, tmp_path, n):
    ids = [f"x{i}" for i in range(n)]
    ws.import_events(str(write(tmp_path / "e.csv", "distinct_id,event,timestamp\n"
                               + "".join(f"{x},open,2026-06-0{1 + i}\n" for i, x in enumerate(ids)))))
    ws.identify([(ids[i], ids[(i + 1) % n]) for i in range(n)])
    assert ws.con.execute("SELECT count(DISTINCT user_id) FROM events").fetchall()[0][0] == 1
    # every id resolves to a user that is not itself an alias
    assert ws.con.execute("SELECT count(*) FROM identities WHERE user_id IN (SELECT distinct_id FROM identities)"
                          ).fetchall()[0][0] == 0


def test_long_chain(ws, tmp_path):
    n = 300  # longer than 2**8: pointer jumping must run to its end
    ws.import_events(str(write(tmp_path / "e.csv", "distinct_id,event,timestamp\nx0,open,2026-06-01\n")))
    for i in range(n):
        ws.identify([(f"x{i}", f"x{i + 1}")])
    assert ws.con.execute("SELECT user_id FROM events").fetchall() == [(f"x{n}",)]


def test_first_link_of_an_identities_file_wins(ws, tmp_path):
    """As everywhere else (event rows, identify, capture): the first link of an id wins, in file order."""
    rows = "".join(f"x{i},u{i}\n" for i in range(2000)) + "a,first\n" + "".join(f"y{i},v{i}\n" for i in range(2000))
    ws.import_identities(str(write(tmp_path / "i.csv", "distinct_id,user_id\n" + rows + "a,second\n")))
    assert ws.con.execute("SELECT user_id FROM identities WHERE distinct_id = 'a'").fetchone()[0] == "first"
