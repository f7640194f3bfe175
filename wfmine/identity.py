"""Identity resolution: one actor per person, bot or agent across Jira, GitHub, Slack and email.

Every connector writes *accounts* (``github:octocat``, ``email:dana@acme.example``).
Analyses need *actors*: handoffs between people, not between logins. This
module groups accounts into actors and writes the ``actors`` and
``actor_accounts`` tables (:meth:`wfmine.store.Store.replace_identities`).

Two kinds of knowledge, in this order:

1. **The roster** (``roster.yaml``, format in ``docs/contracts.md``): each
   listed account belongs to its person with confidence 1.0, evidence
   ``"roster"``. The roster also *declares* a kind (human/bot/agent) and a team.
2. **Evidence** for the accounts the roster does not list (or when there is no
   roster), each merge with a confidence and a sentence saying why:

   - the same email address (an email sender, a Jira ``emailAddress``, a Slack
     profile email, a GitHub commit ``author_email``) — 0.95;
   - a GitHub noreply address ``<id>+<login>@users.noreply.github.com`` names
     its login — 0.95;
   - the same normalised display name, only when it has at least two words,
     belongs to one account per source and to no bot — 0.7.

   An address used by accounts of one source for two different logins, or a
   no-reply address, is ambiguous and never merges. Evidence never merges two
   roster people; the refused merge is recorded in the evidence instead.

Accounts no rule links stay their own actor: listed, not guessed.

Kinds: ``declared_kind`` comes from the roster, ``detected_kind`` from the
accounts' platform fields (agent > bot > human > unknown, ``kind_score`` is the
share of the actor's classified accounts agreeing); ``kind`` is the declared
kind if any, else the detected one. Behavioural detection is the findings
layer's job.

The result never depends on input order: accounts and evidence are sorted
before a union-find joins them, strongest evidence first.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import polars as pl
import yaml

from wfmine.errors import InputError
from wfmine.store import Store

__all__ = [
    "ACTORS_SCHEMA",
    "ACTOR_ACCOUNTS_SCHEMA",
    "Person",
    "Roster",
    "RosterError",
    "apply_identities",
    "load_roster",
    "resolve",
]

ACTORS_SCHEMA: Final = pl.Schema(
    {
        "actor_id": pl.String,
        "display_name": pl.String,
        "kind": pl.String,
        "declared_kind": pl.String,
        "detected_kind": pl.String,
        "kind_score": pl.Float64,
        "team": pl.String,
        "aliases": pl.String,  # JSON list
        "evidence": pl.String,  # JSON object
    }
)
ACTOR_ACCOUNTS_SCHEMA: Final = pl.Schema(
    {
        "account_id": pl.String,
        "actor_id": pl.String,
        "confidence": pl.Float64,
        "evidence": pl.String,
    }
)

KINDS: Final = ("human", "bot", "agent")
_KIND_RANK: Final = {"agent": 3, "bot": 2, "human": 1, "unknown": 0}
_SOURCE_ORDER: Final = {"jira": 0, "github": 1, "slack": 2, "email": 3}
EMAIL_CONFIDENCE: Final = 0.95
NOREPLY_CONFIDENCE: Final = 0.95
NAME_CONFIDENCE: Final = 0.7
_GH_NOREPLY: Final = re.compile(
    r"^(?:(\d+)\+)?([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?)@users\.noreply\.github\.com$",
    re.IGNORECASE,
)
_NOREPLY_LOCAL: Final = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|notifications?|mailer-daemon)\b", re.IGNORECASE
)
_ACCOUNT: Final = re.compile(r"^[a-z][a-z0-9_]*:.+$")


class RosterError(InputError):
    """An invalid roster file; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class Person:
    """One roster entry: an actor and the accounts declared to be theirs."""

    id: str
    name: str | None
    team: str | None
    kind: str | None
    accounts: tuple[str, ...]
    line: int


@dataclass
class Roster:
    """A parsed ``roster.yaml``."""

    people: list[Person] = field(default_factory=list)
    teams: dict[str, dict[str, Any]] = field(default_factory=dict)

    def owner(self) -> dict[str, str]:
        """Account id → person id."""
        return {acc: p.id for p in self.people for acc in p.accounts}


# -- roster --------------------------------------------------------------------------


def load_roster(path: str | Path) -> Roster:
    """Read and validate a roster file; errors name the line and the problem.

    >>> import tempfile, os
    >>> f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    >>> _ = f.write("people:\\n  - id: dana\\n    kind: robot\\n"); f.close()
    >>> try:
    ...     load_roster(f.name)
    ... except RosterError as e:
    ...     print(str(e).split(": ", 1)[1])
    line 3: kind must be one of human, bot, agent (got 'robot')
    >>> os.unlink(f.name)
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{p}: cannot read the roster: {exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        raise RosterError(f"{p}: {where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None

    def fail(at: yaml.Node | None, problem: str) -> RosterError:
        line = at.start_mark.line + 1 if at is not None else 1
        return RosterError(f"{p}: line {line}: {problem}")

    if data is None:
        return Roster()
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise fail(node, "a roster is a mapping with 'people' (and optionally 'teams')")
    keys = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
    unknown = set(data) - {"people", "teams"}
    if unknown:
        raise fail(node, f"unknown top-level key(s): {sorted(map(str, unknown))}")
    teams_data = data.get("teams") or {}
    if not isinstance(teams_data, dict):
        raise fail(keys.get("teams"), "'teams' must be a mapping of team name to settings")
    teams = {str(k): (v if isinstance(v, dict) else {}) for k, v in teams_data.items()}
    people_data = data.get("people") or []
    people_node = keys.get("people")
    if not isinstance(people_data, list) or not isinstance(people_node, yaml.SequenceNode | None):
        raise fail(people_node, "'people' must be a list")
    roster = Roster(teams=teams)
    seen_ids: dict[str, int] = {}
    seen_accounts: dict[str, tuple[str, int]] = {}
    item_nodes = people_node.value if isinstance(people_node, yaml.SequenceNode) else []
    for entry, entry_node in zip(people_data, item_nodes, strict=False):
        if not isinstance(entry, dict) or not isinstance(entry_node, yaml.MappingNode):
            raise fail(entry_node, "each person is a mapping with at least 'id'")
        fields = {k.value: v for k, v in entry_node.value if isinstance(k, yaml.ScalarNode)}
        line = entry_node.start_mark.line + 1
        extra = set(entry) - {"id", "name", "team", "kind", "accounts", "email", "notes"}
        if extra:
            raise fail(entry_node, f"unknown key(s) for a person: {sorted(map(str, extra))}")
        pid = entry.get("id")
        if not isinstance(pid, str) or not pid.strip():
            raise fail(fields.get("id", entry_node), "a person needs a non-empty string 'id'")
        if pid in seen_ids:
            raise fail(
                fields.get("id"), f"duplicate person id {pid!r} (first on line {seen_ids[pid]})"
            )
        seen_ids[pid] = line
        kind = entry.get("kind")
        if kind is not None and kind not in KINDS:
            raise fail(fields.get("kind"), f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
        team = entry.get("team")
        if team is not None and not isinstance(team, str):
            raise fail(fields.get("team"), "team must be a string")
        if team is not None and teams and team not in teams:
            raise fail(fields.get("team"), f"team {team!r} is not declared under 'teams'")
        accounts = entry.get("accounts") or []
        acc_node = fields.get("accounts")
        if not isinstance(accounts, list):
            raise fail(acc_node, "accounts must be a list of account ids")
        acc_items = acc_node.value if isinstance(acc_node, yaml.SequenceNode) else []
        cleaned: list[str] = []
        for i, acc in enumerate(accounts):
            at = acc_items[i] if i < len(acc_items) else acc_node
            if not isinstance(acc, str) or not _ACCOUNT.match(acc.strip()):
                raise fail(at, f"account {acc!r} is not '<source>:<account id>'")
            acc = _canonical_account(acc.strip())
            if acc in seen_accounts and seen_accounts[acc][0] != pid:
                other, other_line = seen_accounts[acc]
                raise fail(
                    at, f"account {acc!r} is already listed for {other!r} (line {other_line})"
                )
            seen_accounts[acc] = (pid, at.start_mark.line + 1 if at is not None else line)
            cleaned.append(acc)
        if isinstance(entry.get("email"), str):
            cleaned.append(_canonical_account(f"email:{entry['email'].strip()}"))
        name = entry.get("name")
        roster.people.append(
            Person(pid, str(name) if name is not None else None, team, kind,
                   tuple(dict.fromkeys(cleaned)), line)
        )  # fmt: skip
    return roster


def _canonical_account(account: str) -> str:
    """Email account ids are case-insensitive; everything else is kept as written."""
    source, _, native = account.partition(":")
    return f"email:{native.lower()}" if source == "email" else account


# -- evidence ------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class _Edge:
    rank: float  # negative confidence: strongest first when sorted
    a: str
    b: str
    rule: str
    detail: str

    @property
    def confidence(self) -> float:
        return -self.rank


def normalise_name(name: str | None) -> str | None:
    """A display name reduced for comparison: accents, case, punctuation and spacing removed.

    >>> normalise_name("  José  O'Neil ")
    'jose oneil'
    """
    if not name:
        return None
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"[^\w\s]", "", text)
    text = " ".join(text.split())
    return text or None


def _emails_of(
    accounts: pl.DataFrame, author_emails: Iterable[tuple[str, str]]
) -> dict[str, set[tuple[str, str]]]:
    """Lower-cased address → {(account id, where it was seen)}."""
    found: dict[str, set[tuple[str, str]]] = {}
    for acc, source, login, mail in accounts.select(
        "account_id", "source", "login", "email"
    ).iter_rows():
        for value, where in (
            (mail, "account email"),
            (login if source == "email" else None, "address"),
        ):
            if isinstance(value, str) and "@" in value:
                found.setdefault(value.strip().lower(), set()).add((acc, where))
    for acc, mail in author_emails:
        if isinstance(mail, str) and "@" in mail:
            found.setdefault(mail.strip().lower(), set()).add((acc, "commit author email"))
    return found


def _evidence_edges(
    accounts: pl.DataFrame, author_emails: list[tuple[str, str]]
) -> tuple[list[_Edge], list[str]]:
    """Every merge the evidence supports, and notes on evidence deliberately not used."""
    ids = set(accounts.get_column("account_id").to_list())
    source_of = dict(accounts.select("account_id", "source").iter_rows())
    kind_of = dict(accounts.select("account_id", "platform_kind").iter_rows())
    gh_logins = {
        a.split(":", 1)[1].lower(): a for a in sorted(ids, reverse=True) if a.startswith("github:")
    }
    edges: list[_Edge] = []
    notes: list[str] = []
    for address, seen in sorted(_emails_of(accounts, author_emails).items()):
        members = sorted({acc for acc, _ in seen if acc in ids})
        gh = _GH_NOREPLY.match(address)
        if gh:
            login_acc = gh_logins.get(gh.group(2).lower())
            if login_acc is not None:
                for acc in members:
                    if acc != login_acc:
                        a, b = sorted((acc, login_acc))
                        edges.append(_Edge(-NOREPLY_CONFIDENCE, a, b, "github_noreply",
                                           f"GitHub noreply address {address} names login {gh.group(2)}"))  # fmt: skip
            continue
        if len(members) < 2:
            continue
        if _NOREPLY_LOCAL.match(address.split("@", 1)[0]):
            notes.append(f"no-reply address {address} shared by {', '.join(members)}: not merged")
            continue
        per_source: dict[str, list[str]] = {}
        for acc in members:
            per_source.setdefault(source_of.get(acc, acc.split(":", 1)[0]), []).append(acc)
        crowded = {s: accs for s, accs in per_source.items() if len(accs) > 1}
        if crowded:
            notes.append(f"address {address} is used by several accounts of one source "
                         f"({'; '.join(', '.join(v) for v in crowded.values())}): not merged")  # fmt: skip
            continue
        how = {acc: sorted(w for a, w in seen if a == acc) for acc in members}
        anchor = members[0]
        for acc in members[1:]:
            edges.append(_Edge(-EMAIL_CONFIDENCE, anchor, acc, "email",
                               f"same email address {address} ({anchor}: {', '.join(how[anchor])}; "
                               f"{acc}: {', '.join(how[acc])})"))  # fmt: skip
    by_name: dict[str, list[str]] = {}
    for acc, name, _login in accounts.select("account_id", "display_name", "login").iter_rows():
        if kind_of.get(acc) in ("bot", "agent"):
            continue
        norm = normalise_name(name)
        if norm is None or len(norm.split()) < 2:
            continue
        by_name.setdefault(norm, []).append(acc)
    for norm, members in sorted(by_name.items()):
        members.sort()
        if len(members) < 2:
            continue
        sources = [source_of.get(a) for a in members]
        if len(set(sources)) != len(sources):
            notes.append(f"display name {norm!r} is shared by several accounts of one source "
                         f"({', '.join(members)}): not merged")  # fmt: skip
            continue
        for acc in members[1:]:
            edges.append(_Edge(-NAME_CONFIDENCE, members[0], acc, "display_name",
                               f"same display name {norm!r} ({members[0]}, {acc})"))  # fmt: skip
    return sorted(set(edges)), notes


# -- resolution ----------------------------------------------------------------------


def resolve(
    store: Store, roster: Roster | str | Path | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Resolve the store's accounts into actors: ``(actors, actor_accounts)`` frames.

    ``roster`` is a :class:`Roster`, a path to ``roster.yaml``, or ``None``.
    Nothing is written; see :func:`apply_identities`.
    """
    if isinstance(roster, str | Path):
        roster = load_roster(roster)
    roster = roster or Roster()
    accounts = store.sql(
        "SELECT account_id, source, login, display_name, email, platform_kind, attrs FROM accounts"
    ).sort("account_id")
    author_emails = _author_emails(store)
    return _resolve(accounts, author_emails, roster)


def _author_emails(store: Store) -> list[tuple[str, str]]:
    """(account id, commit author email) pairs recorded by the GitHub connector."""
    df = store.sql(
        "SELECT DISTINCT actor_id, lower(json_extract_string(attrs, '$.author_email')) AS mail "
        "FROM events WHERE source = 'github' AND actor_id IS NOT NULL "
        "AND json_extract_string(attrs, '$.author_email') IS NOT NULL"
    )
    return sorted((str(a), str(m)) for a, m in df.iter_rows()) if df.height else []


def _resolve(
    accounts: pl.DataFrame, author_emails: list[tuple[str, str]], roster: Roster
) -> tuple[pl.DataFrame, pl.DataFrame]:
    owner = roster.owner()
    people = {p.id: p for p in roster.people}
    all_ids = sorted(set(accounts.get_column("account_id").to_list()) | set(owner))
    info = {row["account_id"]: row for row in accounts.iter_rows(named=True)}

    # A hand-written union-find (path halving), not networkx.utils.UnionFind: importing
    # networkx costs 0.3-0.6 s, a sixth of the sample workspace's main job, for 12 lines.
    parent = {a: a for a in all_ids}
    person_of: dict[str, str | None] = {a: owner.get(a) for a in all_ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # roster people first: their accounts form fixed groups
    for listed in roster.people:
        for acc in listed.accounts[1:]:
            ra, rb = find(listed.accounts[0]), find(acc)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    for a in all_ids:
        if person_of[a]:
            person_of[find(a)] = person_of[a]

    edges, notes = _evidence_edges(accounts, author_emails)
    applied: dict[str, list[_Edge]] = {}
    for edge in edges:
        ra, rb = find(edge.a), find(edge.b)
        if ra == rb:
            applied.setdefault(edge.a, []).append(edge)
            applied.setdefault(edge.b, []).append(edge)
            continue
        pa, pb = person_of.get(ra), person_of.get(rb)
        if pa and pb and pa != pb:
            notes.append(f"{edge.detail}: not merged, the roster puts them under {pa!r} and {pb!r}")
            continue
        keep, drop = min(ra, rb), max(ra, rb)
        parent[drop] = keep
        person_of[keep] = pa or pb
        applied.setdefault(edge.a, []).append(edge)
        applied.setdefault(edge.b, []).append(edge)

    groups: dict[str, list[str]] = {}
    for a in all_ids:
        groups.setdefault(find(a), []).append(a)
    for listed in roster.people:  # roster people without any account still get an actor
        if not listed.accounts:
            groups.setdefault(f"roster:{listed.id}", [])
            person_of[f"roster:{listed.id}"] = listed.id

    actor_rows: list[dict[str, Any]] = []
    link_rows: list[dict[str, Any]] = []
    for root, members in groups.items():
        members = sorted(members)
        pid = person_of.get(root)
        person = people.get(pid) if pid else None
        actor_id = person.id if person else _representative(members, info)
        kinds = [str(info[a]["platform_kind"] or "unknown") for a in members if a in info]
        classified = [k for k in kinds if k != "unknown"]
        detected = max(classified, key=lambda k: _KIND_RANK[k]) if classified else "unknown"
        score = (
            (sum(1 for k in classified if k == detected) / len(classified)) if classified else 0.0
        )
        declared = person.kind if person else None
        names = [info[a]["display_name"] for a in members if a in info and info[a]["display_name"]]
        display = (
            (person.name if person and person.name else None)
            or _best_name(members, info)
            or actor_id
        )
        aliases = sorted(
            {str(v) for a in members if a in info for v in (info[a]["login"], info[a]["display_name"],
                                                            info[a]["email"]) if v}
            | set(names) | ({person.name} if person and person.name else set())
        )  # fmt: skip
        merges = sorted(
            {(e.rule, e.detail, e.confidence) for a in members for e in applied.get(a, [])}
        )
        evidence = {
            "accounts": members,
            "roster": person is not None,
            "merges": [{"rule": r, "detail": d, "confidence": c} for r, d, c in merges],
            "kind": {"platform_kinds": {a: str(info[a]["platform_kind"] or "unknown")
                                        for a in members if a in info},
                     "declared": declared},
        }  # fmt: skip
        actor_rows.append({
            "actor_id": actor_id, "display_name": display, "kind": declared or detected,
            "declared_kind": declared, "detected_kind": detected, "kind_score": round(score, 4),
            "team": person.team if person else None, "aliases": json.dumps(aliases, ensure_ascii=False),
            "evidence": json.dumps(evidence, sort_keys=True, ensure_ascii=False),
        })  # fmt: skip
        for a in members:
            if owner.get(a):
                conf, why = 1.0, "roster"
            elif applied.get(a):
                best = min(applied[a])
                conf = best.confidence
                why = "; ".join(sorted({e.detail for e in applied[a]}))
                if person is not None:
                    why += f" (joined roster person {person.id!r})"
            else:
                conf, why = 1.0, "own account: no evidence links it to another account"
            link_rows.append(
                {"account_id": a, "actor_id": actor_id, "confidence": conf, "evidence": why}
            )
    if notes:
        # notes concern merges deliberately not made; keep them with the actors they name
        for row in actor_rows:
            ev = json.loads(row["evidence"])
            mine = sorted({n for n in notes if any(a in n for a in ev["accounts"])})
            if mine:
                ev["not_merged"] = mine
                row["evidence"] = json.dumps(ev, sort_keys=True, ensure_ascii=False)
    actors = pl.DataFrame(sorted(actor_rows, key=lambda r: r["actor_id"]), schema=ACTORS_SCHEMA)
    links = pl.DataFrame(
        sorted(link_rows, key=lambda r: r["account_id"]), schema=ACTOR_ACCOUNTS_SCHEMA
    )
    if actors.get_column("actor_id").is_duplicated().any():
        dup = (
            actors.filter(pl.col("actor_id").is_duplicated())
            .get_column("actor_id")
            .unique()
            .sort()
            .to_list()
        )
        raise InputError(f"identity resolution produced duplicate actor ids {dup}: "
                         "a roster id equals an unlisted account id")  # fmt: skip
    return actors, links


def _representative(members: list[str], info: dict[str, dict[str, Any]]) -> str:
    """The account id that names an unlisted actor: by source order (jira, github, slack, email), then id."""
    return min(members, key=lambda a: (_SOURCE_ORDER.get(a.split(":", 1)[0], 9), a))


def _best_name(members: list[str], info: dict[str, dict[str, Any]]) -> str | None:
    """The most common display name among the accounts (ties: source order, then text)."""
    counts: dict[str, list[int]] = {}
    for a in members:
        name = info.get(a, {}).get("display_name") or None
        if name:
            entry = counts.setdefault(name, [0, 9])
            entry[0] += 1
            entry[1] = min(entry[1], _SOURCE_ORDER.get(a.split(":", 1)[0], 9))
    if not counts:
        return None
    return min(counts.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[0]))[0]


def apply_identities(store: Store, roster_path: str | Path | None = None) -> dict[str, int]:
    """Resolve identities and replace the store's ``actors`` and ``actor_accounts`` (one transaction).

    Returns counts: actors, accounts, merged accounts (joined by evidence), roster accounts.
    """
    actors, links = resolve(store, roster_path)
    store.replace_identities(actors, links)
    return {
        "actors": actors.height,
        "accounts": links.height,
        "roster_accounts": links.filter(pl.col("evidence") == "roster").height,
        "merged_by_evidence": links.filter(
            (pl.col("evidence") != "roster") & ~pl.col("evidence").str.starts_with("own account")
        ).height,
    }
