"""The fictional organisation: people, bots and agents with their accounts in every source.

Identifiers are derived from names with a hash (never from the seed), so the
roster of the sample workspace is stable across seeds and sizes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["human", "bot", "agent"]

TEAMS: tuple[str, ...] = ("product", "engineering", "qa", "operations", "support")
DOMAIN = "acme.example"
JIRA_BASE = "https://acme.atlassian.net"
GITHUB_ORG = "acme"
SLACK_TEAM = "T0ACME0001"

# The public account of Atlassian's "Automation for Jira" app.
AUTOMATION_ACCOUNT = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"


def _hex(text: str, n: int) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:n]


def _num(text: str, lo: int, span: int) -> int:
    return lo + int(hashlib.sha1(text.encode()).hexdigest()[:12], 16) % span


def _slack_id(prefix: str, text: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    v = int(hashlib.sha1(("slack" + text).encode()).hexdigest()[:16], 16)
    out = ""
    for _ in range(9):
        v, r = divmod(v, len(alphabet))
        out += alphabet[r]
    return prefix + "0" + out


@dataclass
class Actor:
    """One person, bot or agent and its accounts."""

    id: str  # roster id
    name: str
    team: str
    kind: Kind  # real kind (what it is)
    tz: str = "Europe/Berlin"
    start_hour: float = 9.0  # local working day
    end_hour: float = 18.0
    # accounts (None: no account in that source)
    jira: str | None = None
    jira_type: str = "atlassian"
    github: str | None = None
    github_id: int = 0
    github_type: str = "User"
    github_app: str | None = None  # app slug for bots
    github_app_id: int = 0
    slack: str | None = None
    slack_bot_id: str | None = None
    slack_app_id: str | None = None
    email: str | None = None
    in_roster: bool = True
    roster_kind: Kind | None = None  # declared kind when it differs (shadow agents)
    lead: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def declared_kind(self) -> Kind:
        return self.roster_kind or self.kind

    def accounts(self) -> list[str]:
        out: list[str] = []
        if self.jira:
            out.append(f"jira:{self.jira}")
        if self.github:
            out.append(f"github:{self.github}")
        if self.slack:
            out.append(f"slack:{self.slack}")
        if self.slack_bot_id:
            out.append(f"slack:{self.slack_bot_id}")
        if self.email:
            out.append(f"email:{self.email}")
        return out


# (id, name, team, tz, github login, lead)
_HUMANS: tuple[tuple[str, str, str, str, str, bool], ...] = (
    ("maya", "Maya Chen", "product", "Europe/Berlin", "mayachen", True),
    ("priya", "Priya Nair", "product", "Europe/London", "priya-nair", False),
    ("tom", "Tom Becker", "product", "Europe/Berlin", "tbecker", False),
    ("lucia", "Lucía Álvarez", "product", "Europe/Madrid", "lualvarez", False),
    ("dana", "Dana Reyes", "engineering", "Europe/Berlin", "dreyes", True),
    ("omar", "Omar Haddad", "engineering", "Europe/Berlin", "ohaddad", False),
    ("kenji", "Kenji Sato", "engineering", "Europe/Berlin", "ksato", False),
    ("sofia", "Sofia Rossi", "engineering", "Europe/Rome", "srossi-dev", False),
    ("lukas", "Lukas Novak", "engineering", "Europe/Prague", "lnovak", False),
    ("aisha", "Aisha Bello", "engineering", "Europe/London", "aishab", False),
    ("ben", "Ben Carter", "engineering", "America/New_York", "bcarter", False),
    ("nina", "Nina Petrova", "engineering", "Europe/Berlin", "npetrova", False),
    ("marco", "Marco Silva", "engineering", "Europe/Lisbon", "msilva", False),
    ("erin", "Erin Walsh", "qa", "Europe/Dublin", "ewalsh", True),
    ("hannah", "Hannah Kim", "qa", "Europe/Berlin", "hkim-qa", False),
    ("diego", "Diego Torres", "qa", "Europe/Madrid", "dtorres", False),
    ("viktor", "Viktor Lind", "operations", "Europe/Stockholm", "vlind", True),
    ("grace", "Grace Okafor", "operations", "Europe/London", "gokafor", False),
    ("ravi", "Ravi Menon", "operations", "Asia/Kolkata", "rmenon", False),
    ("chloe", "Chloé Martin", "support", "Europe/Paris", "cmartin", True),
    ("jonas", "Jonas Weber", "support", "Europe/Berlin", "jweber", False),
    ("ana", "Ana Costa", "support", "Europe/Lisbon", "acosta", False),
    ("liam", "Liam O'Brien", "support", "America/New_York", "lobrien", False),
)


def _human(pid: str, name: str, team: str, tz: str, login: str, lead: bool) -> Actor:
    first = name.split()[0].lower().replace("é", "e").replace("í", "i")
    return person(pid, name, team, tz, login, first, lead)


def person(pid: str, name: str, team: str, tz: str, login: str, mailbox: str, lead: bool) -> Actor:
    """A person of a simulated organisation: accounts on every platform, working hours by zone."""
    start = 8.0 + _num(pid + "start", 0, 3) * 0.5
    if tz == "Asia/Kolkata":
        start = 10.0
    return Actor(
        id=pid,
        name=name,
        team=team,
        kind="human",
        tz=tz,
        start_hour=start,
        end_hour=start + 9.0,
        jira=_jira_account(pid),
        github=login,
        github_id=_num("gh" + login, 1_200_000, 90_000_000),
        slack=_slack_id("U", pid),
        email=f"{mailbox}@{DOMAIN}",
        lead=lead,
    )


def _jira_account(pid: str) -> str:
    return "5" + _hex("jira" + pid, 7) + _hex("acct" + pid, 16)


@dataclass
class Org:
    actors: dict[str, Actor]

    def team(self, team: str) -> list[Actor]:
        return [
            a
            for a in self.actors.values()
            if a.team == team and a.kind == "human" and a.in_roster and not a.extra.get("shadow")
        ]

    def lead(self, team: str) -> Actor:
        return next(a for a in self.team(team) if a.lead)

    def __getitem__(self, key: str) -> Actor:
        return self.actors[key]

    def by_github(self) -> dict[str, Actor]:
        return {a.github: a for a in self.actors.values() if a.github}


def build_org() -> Org:
    """The Acme organisation (fixed; independent of the seed)."""
    actors: dict[str, Actor] = {}
    for row in _HUMANS:
        a = _human(*row)
        actors[a.id] = a
    # sanctioned AI agents
    actors["reviewbot"] = Actor(
        id="reviewbot",
        name="Acme Review Bot",
        team="engineering",
        kind="agent",
        tz="UTC",
        github="acme-reviewbot[bot]",
        github_id=241_330_017,
        github_type="Bot",
        github_app="acme-reviewbot",
        github_app_id=1_023_417,
    )
    actors["copilot"] = Actor(
        id="copilot",
        name="Copilot coding agent",
        team="engineering",
        kind="agent",
        tz="UTC",
        github="copilot-swe-agent[bot]",
        github_id=198_982_749,
        github_type="Bot",
        github_app="copilot-swe-agent",
        github_app_id=1_143_301,
        email="198982749+Copilot@users.noreply.github.com",
    )
    # plain automation
    actors["jira-automation"] = Actor(
        id="jira-automation",
        name="Automation for Jira",
        team="product",
        kind="bot",
        tz="UTC",
        jira=AUTOMATION_ACCOUNT,
        jira_type="app",
    )
    actors["github-actions"] = Actor(
        id="github-actions",
        name="GitHub Actions",
        team="engineering",
        kind="bot",
        tz="UTC",
        github="github-actions[bot]",
        github_id=41_898_282,
        github_type="Bot",
        github_app="github-actions",
        github_app_id=15_368,
    )
    actors["dependabot"] = Actor(
        id="dependabot",
        name="Dependabot",
        team="engineering",
        kind="bot",
        tz="UTC",
        github="dependabot[bot]",
        github_id=49_699_333,
        github_type="Bot",
        github_app="dependabot",
        github_app_id=29_110,
    )
    actors["slack-jira"] = Actor(
        id="slack-jira",
        name="Jira Cloud",
        team="product",
        kind="bot",
        tz="UTC",
        slack=_slack_id("U", "jira-cloud"),
        slack_bot_id=_slack_id("B", "jira-cloud"),
        slack_app_id="A2RPP3NFR",
        email=f"jira@{DOMAIN}",
    )
    actors["slack-github"] = Actor(
        id="slack-github",
        name="GitHub",
        team="operations",
        kind="bot",
        tz="UTC",
        slack=_slack_id("U", "github-app"),
        slack_bot_id=_slack_id("B", "github-app"),
        slack_app_id="A01BP7R4KNY",
        email="notifications@github.com",
    )
    # shadow agents: undeclared automation that looks human
    actors["jdoyle"] = Actor(
        id="jdoyle",
        name="Jordan Doyle",
        team="engineering",
        kind="bot",
        roster_kind="human",
        tz="UTC",
        github="jdoyle",
        github_id=_num("ghjdoyle", 1_200_000, 90_000_000),
        extra={"shadow": "undeclared_automation"},
    )
    actors["sortiz"] = Actor(
        id="sortiz",
        name="Sam Ortiz",
        team="operations",
        kind="bot",
        tz="UTC",
        slack=_slack_id("U", "sortiz"),
        in_roster=False,
        extra={"shadow": "undeclared_automation"},
    )
    return Org(actors)
