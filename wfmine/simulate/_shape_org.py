"""The people, bots and agents of a shaped organisation, with their accounts in every source.

People are drawn from a fixed pool of names by the shape's teams (never by the
seed), so a shape's roster is the same for every seed and size.
"""

from __future__ import annotations

from wfmine.simulate._org import (
    AUTOMATION_ACCOUNT,
    Actor,
    Org,
    _hex,
    _slack_id,
    person,
)
from wfmine.simulate._shapes import Shape

# (first name, last name, time zone)
_NAMES: tuple[tuple[str, str, str], ...] = (
    ("Amara", "Osei", "Europe/London"),
    ("Bruno", "Ferreira", "Europe/Lisbon"),
    ("Clara", "Hoffmann", "Europe/Berlin"),
    ("Dmitri", "Volkov", "Europe/Berlin"),
    ("Elena", "Marino", "Europe/Rome"),
    ("Felix", "Braun", "Europe/Berlin"),
    ("Greta", "Lindqvist", "Europe/Stockholm"),
    ("Hugo", "Lefebvre", "Europe/Paris"),
    ("Ines", "Moreau", "Europe/Paris"),
    ("Jamal", "Wright", "America/New_York"),
    ("Kaia", "Jensen", "Europe/Berlin"),
    ("Leon", "Schulz", "Europe/Berlin"),
    ("Mira", "Kowalski", "Europe/Prague"),
    ("Nils", "Berg", "Europe/Stockholm"),
    ("Olga", "Ivanova", "Europe/Berlin"),
    ("Pablo", "Ruiz", "Europe/Madrid"),
    ("Quinn", "Murphy", "Europe/Dublin"),
    ("Rosa", "Delgado", "Europe/Madrid"),
    ("Samir", "Khan", "Europe/London"),
    ("Tara", "Singh", "Asia/Kolkata"),
    ("Uma", "Patel", "Europe/London"),
    ("Victor", "Dubois", "Europe/Paris"),
    ("Wanda", "Nowak", "Europe/Prague"),
    ("Xavier", "Costa", "Europe/Lisbon"),
    ("Yara", "Haddad", "Europe/Berlin"),
    ("Zoe", "Fischer", "Europe/Berlin"),
    ("Arjun", "Rao", "Asia/Kolkata"),
    ("Bianca", "Conti", "Europe/Rome"),
    ("Caleb", "Turner", "America/New_York"),
    ("Dalia", "Mansour", "Europe/Berlin"),
    ("Emil", "Larsen", "Europe/Stockholm"),
    ("Freya", "Walsh", "Europe/Dublin"),
    ("Gideon", "Adler", "Europe/Berlin"),
    ("Hana", "Sato", "Europe/Berlin"),
    ("Ivan", "Petrov", "Europe/Prague"),
    ("Julia", "Richter", "Europe/Berlin"),
    ("Karim", "Benali", "Europe/Paris"),
    ("Lena", "Vogel", "Europe/Berlin"),
    ("Mateo", "Garcia", "Europe/Madrid"),
    ("Nora", "Eriksen", "Europe/Stockholm"),
    ("Oscar", "Lund", "Europe/Stockholm"),
    ("Petra", "Horvat", "Europe/Prague"),
    ("Rafael", "Santos", "Europe/Lisbon"),
    ("Sara", "Cohen", "Europe/London"),
    ("Tomas", "Novotny", "Europe/Prague"),
    ("Vera", "Simons", "Europe/Berlin"),
    ("Wes", "Carter", "America/New_York"),
    ("Yusuf", "Demir", "Europe/Berlin"),
)


def _human(first: str, last: str, tz: str, team: str, lead: bool) -> Actor:
    pid = first.lower()
    login = f"{first[0].lower()}{last.lower()}"
    return person(pid, f"{first} {last}", team, tz, login, pid, lead)


def app_bot_id(name: str) -> str:
    """The Slack bot id of an app, by its name."""
    return _slack_id("B", "app" + name)


def build_shape_org(shape: Shape) -> Org:
    """The people of ``shape``'s teams plus the bots and agents its shape uses."""
    actors: dict[str, Actor] = {}
    pool = iter(_NAMES)
    for team, size in shape.teams:
        for i in range(size):
            first, last, tz = next(pool)
            tz = shape.team_tz.get(team, tz)
            a = _human(first, last, tz, team, i == 0)
            actors[a.id] = a
    plat = shape.platform_team
    actors["reviewbot"] = Actor(
        id="reviewbot",
        name="Acme Review Bot",
        team=plat,
        kind="agent",
        tz="UTC",
        github="acme-reviewbot[bot]",
        github_id=241_330_017,
        github_type="Bot",
        github_app="acme-reviewbot",
        github_app_id=1_023_417,
    )
    actors["jira-automation"] = Actor(
        id="jira-automation",
        name="Automation for Jira",
        team=plat,
        kind="bot",
        tz="UTC",
        jira=AUTOMATION_ACCOUNT,
        jira_type="app",
    )
    actors["github-actions"] = Actor(
        id="github-actions",
        name="GitHub Actions",
        team=plat,
        kind="bot",
        tz="UTC",
        github="github-actions[bot]",
        github_id=41_898_282,
        github_type="Bot",
        github_app="github-actions",
        github_app_id=15_368,
    )
    actors["slack-github"] = Actor(
        id="slack-github",
        name="GitHub",
        team=plat,
        kind="bot",
        tz="UTC",
        slack=_slack_id("U", "github-app"),
        slack_bot_id=_slack_id("B", "github-app"),
        slack_app_id="A01BP7R4KNY",
        email="notifications@github.com",
    )
    if shape.nightly_prs:
        actors["renovate"] = Actor(
            id="renovate",
            name="Renovate",
            team=plat,
            kind="bot",
            tz="UTC",
            github="renovate[bot]",
            github_id=29_139_614,
            github_type="Bot",
            github_app="renovate",
            github_app_id=2_740,
        )
    if shape.coding_agent:
        # GitHub's Copilot coding agent: pull requests by the Bot ``Copilot`` (the app
        # copilot-swe-agent), commits as copilot-swe-agent[bot] <198982749+Copilot@...>
        actors["copilot"] = Actor(
            id="copilot",
            name="Copilot",
            team=plat,
            kind="agent",
            tz="UTC",
            github="Copilot",
            github_id=198_982_749,
            github_type="Bot",
            github_app="copilot-swe-agent",
            github_app_id=1_143_301,
            email="198982749+Copilot@users.noreply.github.com",
            extra={"git_name": "copilot-swe-agent[bot]"},
        )
        # Devin, installed by engineers on GitHub and Slack: no registry entry, no roster line
        actors["devin"] = Actor(
            id="devin",
            name="Devin",
            team=plat,
            kind="agent",
            tz="UTC",
            github="devin-ai-integration[bot]",
            github_id=158_243_242,
            github_type="Bot",
            github_app="devin-ai-integration",
            github_app_id=811_306,
            slack=_slack_id("U", "appDevin"),
            slack_bot_id=app_bot_id("Devin"),
            slack_app_id="A0" + _hex("appDevin", 9).upper(),
            in_roster=False,
            extra={"git_name": "Devin AI"},
        )
    if shape.slack_app:
        slug = shape.slack_app.lower().replace(" ", "-")
        actors[slug] = Actor(
            id=slug,
            name=shape.slack_app,
            team=plat,
            kind="bot",
            tz="UTC",
            slack=_slack_id("U", "app" + shape.slack_app),
            slack_bot_id=app_bot_id(shape.slack_app),
            slack_app_id="A0" + _hex("app" + shape.slack_app, 9).upper(),
        )
    return Org(actors)
