"""Identity resolution: roster, evidence merges, kinds, determinism, and the sample org's correlation."""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl
import pytest

import wfmine
from tests.conftest import SAMPLE
from wfmine.identity import RosterError, apply_identities, load_roster, resolve
from wfmine.model import Batch

ACCOUNTS = [
    {
        "account_id": "jira:5b10ac",
        "source": "jira",
        "login": "5b10ac",
        "display_name": "Dana Reyes",
        "email": "dana@acme.example",
        "platform_kind": "human",
        "attrs": "{}",
    },
    {
        "account_id": "github:dreyes",
        "source": "github",
        "login": "dreyes",
        "display_name": "Dana Reyes",
        "email": None,
        "platform_kind": "human",
        "attrs": "{}",
    },
    {
        "account_id": "email:dana@acme.example",
        "source": "email",
        "login": "dana@acme.example",
        "display_name": "Dana R.",
        "email": "dana@acme.example",
        "platform_kind": "unknown",
        "attrs": "{}",
    },
    {
        "account_id": "slack:U1",
        "source": "slack",
        "login": "dana",
        "display_name": "Dana Reyes",
        "email": None,
        "platform_kind": "human",
        "attrs": "{}",
    },
    {
        "account_id": "github:bob",
        "source": "github",
        "login": "bob",
        "display_name": "Bob",
        "email": None,
        "platform_kind": "human",
        "attrs": "{}",
    },
    {
        "account_id": "email:bob@acme.example",
        "source": "email",
        "login": "bob@acme.example",
        "display_name": "Bob",
        "email": "bob@acme.example",
        "platform_kind": "unknown",
        "attrs": "{}",
    },
    {
        "account_id": "github:ci-bot[bot]",
        "source": "github",
        "login": "ci-bot[bot]",
        "display_name": "Dana Reyes",
        "email": None,
        "platform_kind": "bot",
        "attrs": "{}",
    },
    {
        "account_id": "slack:U9",
        "source": "slack",
        "login": "pat",
        "display_name": "Pat",
        "email": None,
        "platform_kind": "human",
        "attrs": "{}",
    },
    {
        "account_id": "jira:a1",
        "source": "jira",
        "login": "a1",
        "display_name": "Sam Lee",
        "email": None,
        "platform_kind": "human",
        "attrs": "{}",
    },
    {
        "account_id": "jira:a2",
        "source": "jira",
        "login": "a2",
        "display_name": "Sam Lee",
        "email": None,
        "platform_kind": "human",
        "attrs": "{}",
    },
    {
        "account_id": "slack:U7",
        "source": "slack",
        "login": "sam",
        "display_name": "Sam Lee",
        "email": None,
        "platform_kind": "human",
        "attrs": "{}",
    },
]
COMMITS = [  # GitHub commit events carry author emails
    {
        "event_id": "github:acme/api@1",
        "activity": "Commit pushed",
        "timestamp": "2024-04-01T10:00:00",
        "seq": 0,
        "actor_id": "github:bob",
        "source": "github",
        "object_id": "github:acme/api@1",
        "attrs": json.dumps({"author_email": "Bob@acme.example"}),
    },
    {
        "event_id": "github:acme/api@2",
        "activity": "Commit pushed",
        "timestamp": "2024-04-01T11:00:00",
        "seq": 0,
        "actor_id": "email:x",
        "source": "email",
        "object_id": "x",
        "attrs": "{}",
    },
]


def _store(
    accounts: list[dict[str, object]] = ACCOUNTS, extra: list[dict[str, object]] | None = None
) -> wfmine.Store:
    store = wfmine.open(":memory:")
    store.ingest(Batch.from_rows("github", accounts=accounts + (extra or []), events=COMMITS))
    return store


def _mapping(links: pl.DataFrame) -> dict[str, str]:
    return dict(links.select("account_id", "actor_id").iter_rows())


def test_without_roster_merges_by_evidence() -> None:
    actors, links = resolve(_store())
    m = _mapping(links)
    # same email: jira + email accounts; same two-word name: github/slack Dana Reyes
    assert m["jira:5b10ac"] == m["email:dana@acme.example"] == m["github:dreyes"] == m["slack:U1"]
    assert m["github:bob"] == m["email:bob@acme.example"]  # commit author email
    assert m["github:ci-bot[bot]"] == "github:ci-bot[bot]"  # bots never merge by name
    assert m["slack:U9"] == "slack:U9"  # nothing links it: its own actor
    # "Sam Lee" is two Jira accounts: ambiguous, not merged
    assert len({m["jira:a1"], m["jira:a2"], m["slack:U7"]}) == 3
    dana = actors.filter(pl.col("actor_id") == m["jira:5b10ac"]).row(0, named=True)
    assert (
        dana["display_name"] == "Dana Reyes"
        and dana["kind"] == "human"
        and dana["declared_kind"] is None
    )
    ev = json.loads(dana["evidence"])
    assert {x["rule"] for x in ev["merges"]} == {"email", "display_name"}
    conf = dict(links.select("account_id", "confidence").iter_rows())
    assert conf["email:dana@acme.example"] == 0.95 and conf["slack:U9"] == 1.0
    assert (
        "commit author email" in links.filter(pl.col("account_id") == "github:bob")["evidence"][0]
    )
    sam = json.loads(actors.filter(pl.col("actor_id") == "jira:a1")["evidence"][0])
    assert "not_merged" in sam


ROSTER = """teams:
  engineering: {lead: dana}
  ops: {}
people:
  - id: dana
    name: Dana Reyes
    team: engineering
    kind: human
    accounts: [jira:5b10ac, slack:U1]
  - id: bob
    name: Bob Builder
    team: engineering
    kind: human
    accounts: [email:Bob@Acme.example]
  - id: ci
    name: CI
    team: ops
    kind: agent
    accounts: ["github:ci-bot[bot]", github:dreyes]
  - id: ghost
    name: Nobody Yet
    kind: human
"""


def test_with_roster(tmp_path: Path) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text(ROSTER)
    store = _store()
    summary = apply_identities(store, path)
    actors, links = store.table("actors"), store.table("actor_accounts")
    m = _mapping(links)
    assert m["jira:5b10ac"] == m["slack:U1"] == "dana"
    assert m["email:dana@acme.example"] == "dana"  # unlisted, joined by email evidence
    assert m["github:bob"] == "bob"  # joined through the roster's email account
    assert m["github:dreyes"] == "ci"  # the roster wins; evidence never merges two roster people
    conf = dict(links.select("account_id", "confidence").iter_rows())
    assert conf["slack:U1"] == 1.0 and conf["email:dana@acme.example"] == 0.95
    ci = actors.filter(pl.col("actor_id") == "ci").row(0, named=True)
    assert ci["declared_kind"] == "agent" and ci["kind"] == "agent" and ci["team"] == "ops"
    assert ci["detected_kind"] == "bot"  # the [bot] account; declared and detected kept apart
    assert actors.filter(pl.col("actor_id") == "ghost").height == 1
    assert summary["roster_accounts"] == 5
    log = store.log()
    assert log.filter(pl.col("event_id") == "github:acme/api@1")["actor_id"][0] == "bob"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("people:\n  - id: a\n    kind: robot\n", "line 3: kind must be one of"),
        ("people:\n  - id: a\n  - id: a\n", "line 3: duplicate person id 'a' (first on line 2)"),
        (
            "people:\n  - id: a\n    accounts: [x:1]\n  - id: b\n    accounts:\n      - x:1\n",
            "line 6: account 'x:1' is already listed for 'a'",
        ),
        ("people:\n  - id: a\n    accounts: [nocolon]\n", "line 3: account 'nocolon'"),
        (
            "teams: {eng: {}}\npeople:\n  - id: a\n    team: ops\n",
            "line 4: team 'ops' is not declared",
        ),
        ("people: [\n", "line"),
    ],
)
def test_roster_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text(text)
    with pytest.raises(
        RosterError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
    ):
        load_roster(path)


def test_noreply_and_ambiguous_emails() -> None:
    accounts = [
        {
            "account_id": "github:octocat",
            "source": "github",
            "login": "octocat",
            "platform_kind": "human",
        },
        {
            "account_id": "email:583231+octocat@users.noreply.github.com",
            "source": "email",
            "login": "583231+octocat@users.noreply.github.com",
            "email": "583231+octocat@users.noreply.github.com",
            "platform_kind": "unknown",
        },
        {
            "account_id": "jira:x1",
            "source": "jira",
            "login": "x1",
            "email": "noreply@acme.example",
            "platform_kind": "bot",
        },
        {
            "account_id": "email:noreply@acme.example",
            "source": "email",
            "login": "noreply@acme.example",
            "email": "noreply@acme.example",
            "platform_kind": "bot",
        },
    ]
    store = wfmine.open(":memory:")
    store.ingest(
        Batch.from_rows(
            "github",
            accounts=[{"display_name": None, "email": None, "attrs": "{}", **a} for a in accounts],
        )
    )
    _, links = resolve(store)
    m = _mapping(links)
    assert m["email:583231+octocat@users.noreply.github.com"] == "github:octocat"
    assert m["jira:x1"] != m["email:noreply@acme.example"]


def test_independent_of_input_order() -> None:
    shuffled = list(ACCOUNTS)
    random.Random(11).shuffle(shuffled)
    a = resolve(_store())
    b = resolve(_store(shuffled))
    assert a[0].equals(b[0]) and a[1].equals(b[1])


# -- the sample organisation: all four sources, roster and ground truth ---------------


def test_sample_org_correlation() -> None:
    needed = [
        SAMPLE / "roster.yaml",
        SAMPLE / "ground_truth.json",
        SAMPLE / "slack",
        SAMPLE / "email",
        SAMPLE / "jira",
        SAMPLE / "github",
    ]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        pytest.skip(f"sample organisation not present: {missing}")
    from wfmine.connectors import email as em
    from wfmine.connectors import github, jira, slack

    store = wfmine.open(":memory:")
    store.ingest(jira.load(SAMPLE / "jira"))
    store.ingest(github.load(SAMPLE / "github"))
    store.ingest(slack.load(SAMPLE / "slack"))
    mail = SAMPLE / "email" / "acme.mbox"
    store.ingest(em.load(mail if mail.exists() else SAMPLE / "email"))
    apply_identities(store, SAMPLE / "roster.yaml")
    roster = load_roster(SAMPLE / "roster.yaml")
    links = store.table("actor_accounts")
    mapping = _mapping(links)
    for person in roster.people:
        actors = {mapping[a] for a in person.accounts if a in mapping}
        assert actors <= {person.id}, (person.id, actors)
    # every Slack thread / email thread that mentions a Jira key folds into that issue's case
    cases = dict(store.case_map().iter_rows())
    ol = (
        store.table("object_links")
        .filter(
            pl.col("from_object").str.starts_with("slack:")
            | pl.col("from_object").str.starts_with("email:")
        )
        .filter(pl.col("to_object").str.starts_with("jira:"))
    )
    issues = set(
        store.table("objects").filter(pl.col("object_type") == "issue")["object_id"].to_list()
    )
    checked = 0
    for src, dst in (
        ol.filter(pl.col("to_object").is_in(list(issues)))
        .select("from_object", "to_object")
        .unique()
        .iter_rows()
    ):
        n_targets = ol.filter(
            (pl.col("from_object") == src) & pl.col("to_object").is_in(list(issues))
        )["to_object"].n_unique()
        if n_targets == 1:
            assert cases[src] == dst, (src, dst, cases[src])
            checked += 1
    assert checked > 0
    log = store.log()
    folded = log.filter(
        pl.col("source").is_in(["slack", "email"]) & pl.col("case_id").str.starts_with("jira:")
    )
    assert folded.height > 0


def _standard_log(folder: Path, name: str = "log.csv") -> Path:
    """A small pm4py-named log whose resources have two-word names (the name rule's kind)."""
    frame = pl.DataFrame(
        {
            "case:concept:name": ["c1", "c1", "c2", "c2"],
            "concept:name": ["a", "b", "a", "b"],
            "time:timestamp": [f"2024-01-0{d}T10:00:00+00:00" for d in (1, 2, 3, 4)],
            "org:resource": ["Ann Lee", "Bo Chen", "Bo Chen", "Ann Lee"],
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if name.endswith(".parquet"):
        frame.with_columns(pl.col("time:timestamp").str.to_datetime(time_zone="UTC")).write_parquet(
            path
        )
    else:
        frame.write_csv(path)
    return path


def test_a_standard_log_alone_resolves_no_identities(tmp_path: Path) -> None:
    # its org:resource is the actor as it stands: with no roster and no other source nothing
    # could merge its names, so nothing is resolved, and the log reads each account as its
    # own actor, exactly as resolving would have made it
    from wfmine.api import ingest_path

    log_file = _standard_log(tmp_path / "in")
    store = wfmine.open(tmp_path / "s.duckdb")
    ingest_path(store, log_file)
    assert store.counts()["actors"] == 0 and store.meta("roster_key") is None
    resolved = wfmine.open(tmp_path / "r.duckdb")
    ingest_path(resolved, log_file)
    apply_identities(resolved)
    assert store.log().equals(resolved.log())
    # the same names in a CSV and a Parquet log are two logs' resources, not one person's
    # aliases: no display-name merge across them without a roster
    _standard_log(tmp_path / "two", "log.parquet")
    _standard_log(tmp_path / "two", "log.csv")
    both = wfmine.open(tmp_path / "b.duckdb")
    ingest_path(both, tmp_path / "two")
    assert both.counts()["actors"] == 0
    assert both.log().get_column("actor_id").n_unique() == 4


def test_a_standard_log_resolves_with_a_roster_or_into_a_resolved_store(tmp_path: Path) -> None:
    from wfmine.api import ingest_path

    log_file = _standard_log(tmp_path / "in")
    (tmp_path / "in" / "roster.yaml").write_text(
        "people:\n  - id: ann\n    name: Ann Lee\n    accounts: ['csv:Ann Lee']\n",
        encoding="utf-8",
    )
    store = wfmine.open(tmp_path / "s.duckdb")
    ingest_path(store, log_file)
    assert set(store.log().get_column("actor_id")) == {"ann", "csv:Bo Chen"}
    # a store resolved before: a new log's accounts join that resolution
    later = wfmine.open(tmp_path / "l.duckdb")
    apply_identities(later)
    later.set_meta("roster_key", "none")
    ingest_path(later, _standard_log(tmp_path / "other"))
    linked = later.sql("SELECT account_id FROM actor_accounts ORDER BY account_id")
    assert linked.get_column("account_id").to_list() == ["csv:Ann Lee", "csv:Bo Chen"]
