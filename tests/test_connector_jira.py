"""Jira connector on files: the real samples, the shared suite, CSV, changelog merging, reopen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.conftest import REALDATA, SAMPLE, need
from tests.connector_suite import check_connector, check_event_table, check_quarantine
from wfmine.connectors import jira
from wfmine.errors import FormatError

MERICO = REALDATA / "jira" / "merico"
FIWARE = REALDATA / "jira" / "fiware"


def _issue(key: str, histories: list[dict[str, Any]], *, status: str = "Done") -> dict[str, Any]:
    return {
        "id": key.split("-")[1] + "00",
        "key": key,
        "fields": {
            "summary": f"work on {key}",
            "created": "2024-01-01T09:00:00.000+0000",
            "updated": "2024-01-05T09:00:00.000+0000",
            "status": {"id": "3", "name": status, "statusCategory": {"key": "done"}},
            "issuetype": {"name": "Story"},
            "project": {"key": key.split("-")[0]},
            "creator": {"accountId": "u-1", "accountType": "atlassian", "displayName": "Ann"},
            "labels": ["api"],
            "components": [{"name": "billing"}],
        },
        "changelog": {"startAt": 0, "maxResults": len(histories), "total": len(histories),
                      "histories": histories},
    }  # fmt: skip


def _history(
    hid: str, when: str, frm: str, to: str, *, author: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": hid,
        "created": when,
        "author": author or {"accountId": "u-1", "accountType": "atlassian", "displayName": "Ann"},
        "items": [{"field": "status", "fieldtype": "jira", "fromString": frm, "toString": to}],
    }


def test_merico_board_pages_load_with_the_readme_figures() -> None:
    batch = jira.load(need(MERICO))
    check_event_table(batch, expect_events_min=100)
    issue_records = batch.raw_records.filter(pl.col("record_type") == "issue")
    assert batch.stats["records"] == 59  # 59 issues on the three board pages (4 on two boards)
    assert issue_records.height == 55 == batch.objects.height
    status = batch.events.filter(pl.col("activity").str.contains("^(Sub-task s|S)tatus: "))
    initial = status.filter(pl.col("event_id").str.ends_with("/created/status"))
    assert status.height - initial.height == 165  # the README's figure: 165 status changes
    assert initial.height == 55  # and the status each issue was created in
    # 12 of the 55 are sub-tasks: folded into their parents' cases, their statuses apart
    types = dict(batch.objects.group_by("object_type").len().iter_rows())
    assert types == {"issue": 43, "subtask": 12}
    assert batch.object_links.filter(pl.col("relation") == "part_of").height == 12
    assert "Status: 已完成" in set(status.get_column("activity"))  # non-ASCII names kept
    # changelog pages of issues that are not on any board: kept raw, said so
    assert batch.raw_records.filter(pl.col("record_type") == "history").height == 279
    assert any("13383" in w for w in batch.warnings)
    kinds = dict(batch.accounts.group_by("platform_kind").len().iter_rows())
    assert kinds.get("bot", 0) >= 1 and kinds["human"] >= 10
    # a done -> not-done move is flagged as a reopen, with the statuses file's categories
    reopen = status.filter(pl.col("attrs").str.json_path_match("$.reopen") == "true")
    assert reopen.height >= 1


def test_fiware_search_pages_without_changelog() -> None:
    batch = jira.load(need(FIWARE))
    check_event_table(batch, expect_events_min=3)
    assert sorted(batch.objects.get_column("key")) == ["HELP-6041", "HELP-6042", "HELP-6043"]
    closed = batch.events.filter(pl.col("object_id") == "jira:HELP-6042")
    assert set(closed.get_column("activity")) == {
        "Issue created",
        "Status: Closed",
        "Resolution set",
    }
    assert batch.accounts.get_column("account_id").to_list() == [
        "jira:user1",
        "jira:user2",
        "jira:user3",
    ] or (batch.accounts.height >= 2)


def test_shared_suite_on_jira(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good"
    good.mkdir()
    histories = [
        _history("10", "2024-01-02T10:00:00.000+0000", "To Do", "In Progress"),
        _history("11", "2024-01-03T10:00:00.000+0000", "In Progress", "Done"),
    ]
    (good / "page1.json").write_text(json.dumps({"issues": [_issue("ACME-1", histories)],
                                                  "nextPageToken": "x", "isLast": False}))  # fmt: skip
    (good / "page2.json").write_text(
        json.dumps({"issues": [_issue("ACME-2", histories[:1])], "isLast": True})
    )
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "page.json").write_text(json.dumps({"issues": [
        _issue("ACME-3", histories), {"key": "ACME-4"}, {"fields": {}}, "nonsense",
    ]}))  # fmt: skip
    (bad / "broken.json").write_text('{"issues": [')
    check_connector(
        jira.load,
        good,
        bad_path=bad,
        tmp_path=tmp_path,
        monkeypatch=monkeypatch,
        expect_events_min=5,
    )
    batch = check_quarantine(jira.load, bad)
    refs = set(batch.quarantine.get_column("record_ref"))
    assert f"{bad / 'page.json'}#1" in refs and f"{bad / 'page.json'}#3" in refs
    assert str(bad / "broken.json") in refs
    assert batch.objects.get_column("key").to_list() == ["ACME-3"]


def test_event_ids_and_seq_follow_history_ids_not_file_order(tmp_path: Path) -> None:
    h = [
        _history("200", "2024-01-02T10:00:00.000+0000", "To Do", "In Progress"),
        _history("100", "2024-01-02T10:00:00.000+0000", "Backlog", "To Do"),
    ]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_issue("ACME-9", h)))
    b.write_text(json.dumps(_issue("ACME-9", list(reversed(h)))))
    ea, eb = jira.load(a).events.sort("event_id"), jira.load(b).events.sort("event_id")
    assert ea.drop("raw_ref").equals(eb.drop("raw_ref"))
    ordered = ea.sort("timestamp", "seq").get_column("activity").to_list()
    assert ordered == ["Issue created", "Status: Backlog", "Status: To Do", "Status: In Progress"]
    assert "jira:ACME-9/h/100/status" in set(ea.get_column("event_id"))


def test_changelog_pages_merge_into_their_issue_and_dedupe(tmp_path: Path) -> None:
    h1 = _history("1", "2024-01-02T10:00:00.000+0000", "To Do", "In Progress")
    h2 = _history("2", "2024-01-03T10:00:00.000+0000", "In Progress", "Done")
    h3 = _history("3", "2024-01-04T10:00:00.000+0000", "Done", "In Progress")
    issue = _issue("ACME-5", [h1])
    issue["changelog"]["total"] = 3
    root = tmp_path / "export"
    (root / "rest/api/3/issue/500/").mkdir(parents=True)
    (root / "search.json").write_text(json.dumps({"issues": [issue], "isLast": True}))
    (root / "rest/api/3/issue/500/changelog.json").write_text(
        json.dumps(
            {"startAt": 0, "maxResults": 3, "total": 3, "isLast": True, "values": [h1, h2, h3]}
        )
    )
    batch = jira.load(root)
    status = batch.events.filter(pl.col("activity").str.starts_with("Status: ")).sort("timestamp")
    assert status.get_column("activity").to_list() == [
        "Status: To Do", "Status: In Progress", "Status: Done", "Status: In Progress"
    ]  # fmt: skip
    last = json.loads(status.get_column("attrs")[-1])
    assert last["reopen"] is True and last["from"] == "Done"


def test_the_status_an_issue_is_created_in_is_an_event_when_the_changelog_is_whole(
    tmp_path: Path,
) -> None:
    """Jira records no transition into an issue's first status; a design naming that status
    (``jira:Status: Backlog``) must still see the work arrive there. Known only from a whole
    changelog: the first change's ``fromString``, or the current status if nothing changed."""
    moved = _issue("ACME-1", [_history("1", "2024-01-02T10:00:00.000+0000", "Backlog", "Doing")])
    still = _issue("ACME-2", [], status="Backlog")
    partial = _issue("ACME-3", [_history("9", "2024-01-05T10:00:00.000+0000", "Doing", "Done")])
    partial["changelog"]["total"] = 5  # four earlier histories not read: its first is unknown
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"issues": [moved, still, partial], "isLast": True}))
    events = jira.load(page).events
    initial = events.filter(pl.col("event_id").str.ends_with("/created/status")).sort("object_id")
    assert initial.get_column("object_id").to_list() == ["jira:ACME-1", "jira:ACME-2"]
    assert initial.get_column("activity").to_list() == ["Status: Backlog", "Status: Backlog"]
    created = events.filter(pl.col("activity") == "Issue created").sort("object_id").head(2)
    assert initial.get_column("timestamp").equals(created.get_column("timestamp"))
    assert initial.get_column("actor_id").equals(created.get_column("actor_id"))
    assert initial.get_column("seq").to_list() == [1, 1]  # right after the creation
    attrs = json.loads(initial.get_column("attrs")[0])
    assert attrs["initial"] is True and attrs["from"] is None and attrs["to"] == "Backlog"


def test_bot_authors_and_history_metadata(tmp_path: Path) -> None:
    bot = {"accountId": "auto-1", "accountType": "app", "displayName": "Automation for Jira"}
    h = _history("7", "2024-01-02T10:00:00.000+0000", "To Do", "Done", author=bot)
    h["historyMetadata"] = {
        "type": "jira.automation",
        "actor": {"id": "auto-1"},
        "cause": {"type": "rule"},
    }
    h["items"].append({"field": "assignee", "fieldId": "assignee", "from": None, "to": "u-2",
                       "fromString": None, "toString": "Bob"})  # fmt: skip
    file = tmp_path / "one.json"
    file.write_text(json.dumps(_issue("OPS-1", [h])))
    batch = jira.load(file)
    accounts = {r["account_id"]: r for r in batch.accounts.iter_rows(named=True)}
    assert accounts["jira:auto-1"]["platform_kind"] == "bot"
    assert json.loads(accounts["jira:auto-1"]["attrs"])["accountType"] == "app"
    status = batch.events.filter(pl.col("event_id") == "jira:OPS-1/h/7/status").row(0, named=True)
    assert status["actor_id"] == "jira:auto-1"
    assert json.loads(status["attrs"])["history_metadata"]["cause"] == {"type": "rule"}
    assigned = batch.events.filter(pl.col("activity") == "Assignee changed").row(0, named=True)
    assert json.loads(assigned["attrs"])["to"] == "jira:u-2"


def test_csv_export_warns_that_it_has_no_history(tmp_path: Path) -> None:
    file = tmp_path / "Jira.csv"
    file.write_text(
        "Summary,Issue key,Issue id,Issue Type,Status,Project key,Priority,Resolution,Assignee,"
        "Assignee Id,Created,Updated,Resolved,Labels,Labels,Comment\n"
        "Login fails,ACME-12,10012,Bug,Done,ACME,High,Done,Dana,abc123,"
        "12/Jun/24 8:13 AM,14/Jun/24 9:00 AM,14/Jun/24 9:00 AM,auth,web,"
        '"13/Jun/24 10:00 AM;abc123;looking"\n'
        ",,,,,,,,,,,,,,,\n"
        "No date,ACME-13,10013,Bug,Open,ACME,,,,,,,,,,\n",
        encoding="utf-8",
    )
    assert jira.sniff(file)
    batch = jira.load(file)
    assert any("no change history" in w for w in batch.warnings)
    activities = set(batch.events.get_column("activity"))
    assert {"Issue created", "Status: Done", "Resolution set", "Comment added"} <= activities
    assert batch.quarantine.get_column("record_ref").to_list() == [f"{file}#3"]
    attrs = json.loads(batch.objects.row(0, named=True)["attrs"])
    assert attrs["labels"] == ["auth", "web"] and attrs["history"] is False


def test_single_unreadable_file_is_a_format_error(tmp_path: Path) -> None:
    file = tmp_path / "page.json"
    file.write_text('{"issues": [1,')
    with pytest.raises(FormatError, match="line 1"):
        jira.load(file)


def test_sniff_by_content(tmp_path: Path) -> None:
    assert jira.sniff(need(MERICO)) and jira.sniff(need(FIWARE))
    assert not jira.sniff(REALDATA / "github" / "dlt-duckdb")
    odd = tmp_path / "whatever.txt"
    odd.write_bytes(b"\x00\x01 not json")
    assert not jira.sniff(odd)


def test_acme_sample_exports_load_when_present() -> None:
    folder = SAMPLE / "jira"
    if not folder.exists():
        pytest.skip("sample_logs/acme/jira not written yet")
    batch = jira.load(folder)
    check_event_table(batch, expect_events_min=10)
    assert batch.objects.get_column("key").str.starts_with("ACME-").all()


def test_connector_config_names_variables_never_values(tmp_path: Path) -> None:
    from wfmine.connectors.config import load_config, secret
    from wfmine.errors import ConfigError

    (tmp_path / "connectors").mkdir()
    good = tmp_path / "connectors" / "jira.toml"
    good.write_text(
        'kind = "jira"\nurl = "https://acme.atlassian.net"\n[options]\njql = "project = ACME"\n'
        '[teams]\nACME = "engineering"\n[credentials]\nemail_env = "JIRA_EMAIL"\ntoken_env = "JIRA_API_TOKEN"\n'
    )
    cfg = load_config(good)
    assert cfg.kind == "jira" and cfg.reader_options()["teams"] == {"ACME": "engineering"}
    with pytest.raises(ConfigError, match="JIRA_API_TOKEN"):
        secret(cfg, "token_env")
    bad = tmp_path / "connectors" / "bad.toml"
    bad.write_text('kind = "jira"\npath = "x"\n[credentials]\ntoken_env = "abc123-secret-value"\n')
    with pytest.raises(ConfigError, match="must name an environment variable") as info:
        load_config(bad)
    assert "abc123-secret-value" not in str(info.value)


def test_a_sub_task_is_part_of_its_parents_case_never_its_work_item(tmp_path: Path) -> None:
    """A sub-task (``issuetype.subtask``, ``fields.parent``) is a piece of its parent's work:
    linked into the parent's case, its creation and statuses named apart so that they never
    set or move the parent's stage, and its moving out of Done is no reopen of the parent."""
    parent = _issue("ACME-1", [_history("1", "2024-01-02T10:00:00.000+0000", "To Do", "Doing")])
    sub = _issue(
        "ACME-2",
        [
            _history("5", "2024-01-02T11:00:00.000+0000", "To Do", "Done"),
            _history("6", "2024-01-02T12:00:00.000+0000", "Done", "In Progress"),
        ],
        status="In Progress",
    )
    sub["fields"]["issuetype"] = {"name": "Sub-task", "subtask": True}
    sub["fields"]["parent"] = {"key": "ACME-1", "id": "100"}
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"issues": [parent, sub], "isLast": True}))
    batch = jira.load(page)
    types = dict(batch.objects.select("object_id", "object_type").iter_rows())
    assert types == {"jira:ACME-1": "issue", "jira:ACME-2": "subtask"}
    links = batch.object_links.select("from_object", "to_object", "relation").rows()
    assert links == [("jira:ACME-2", "jira:ACME-1", "part_of")]
    sub_events = batch.events.filter(pl.col("object_id") == "jira:ACME-2")
    assert sub_events.sort("timestamp", "seq").get_column("activity").to_list() == [
        "Sub-task created", "Sub-task status: To Do", "Sub-task status: Done",
        "Sub-task status: In Progress",
    ]  # fmt: skip
    assert not sub_events.get_column("attrs").str.contains('"reopen"').any()
