"""The words of the simulated work: subjects, titles, review remarks, URLs."""

from __future__ import annotations

from wfmine.simulate._org import GITHUB_ORG, JIRA_BASE

SUBJECTS = (
    "invoice export",
    "login page",
    "password reset",
    "search results",
    "order history",
    "user profile",
    "notification settings",
    "billing dashboard",
    "API rate limits",
    "webhook retries",
    "CSV import",
    "audit log",
    "team invitations",
    "SSO configuration",
    "payment retries",
    "session timeout",
    "report scheduler",
    "mobile layout",
    "dark mode",
    "data retention",
    "tax calculation",
    "subscription upgrade",
    "refund flow",
    "account deletion",
    "email templates",
    "file uploads",
)
STORY_VERBS = ("Add", "Support", "Improve", "Redesign", "Allow filtering in", "Paginate", "Cache")
BUG_FORMS = (
    "{s} fails with 500 for some customers",
    "{s} shows wrong totals",
    "{s} times out on large accounts",
    "{s} broken after last release",
    "Customers cannot use {s}",
    "{s} returns duplicate rows",
)
TASK_FORMS = (
    "Migrate {s} to new schema",
    "Refactor {s} module",
    "Upgrade library used by {s}",
    "Add metrics for {s}",
)
FILES = {
    "api": (
        "src/api/handlers.py",
        "src/api/models.py",
        "src/billing/invoice.py",
        "migrations/0042_schema.py",
        "tests/test_api.py",
    ),
    "web": (
        "src/components/Table.tsx",
        "src/pages/Settings.tsx",
        "src/lib/client.ts",
        "tests/e2e/settings.spec.ts",
    ),
    "infra": ("terraform/prod/main.tf", "helm/api/values.yaml", "ci/pipeline.yml"),
}
REVIEW_NITS = (
    "Could we add a test for the empty case?",
    "Nit: naming — `data` is a bit vague here.",
    "This query runs per row; can we batch it?",
    "Please handle the None case.",
    "Let's log at debug level here.",
    "Is this covered by the existing migration?",
)
BOT_REVIEW = (
    "Automated review: no blocking issues found. 2 suggestions inline.",
    "Automated review: looks good. Consider adding a test for the error path.",
    "Automated review: no issues found.",
)


def slugify(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")[:40].strip("-")


def jira_url(key: str) -> str:
    return f"{JIRA_BASE}/browse/{key}"


def pr_url(repo: str, number: int) -> str:
    return f"https://github.com/{GITHUB_ORG}/{repo}/pull/{number}"


def files_of(repo: str) -> tuple[str, ...]:
    """Paths of a repository that review comments point at."""
    return FILES.get(repo, FILES["api"])
