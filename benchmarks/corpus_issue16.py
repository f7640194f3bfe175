"""Issue 16's bad-input and fault corpus, run through the command line: one row per input.

Every input is built in a temporary folder from the real-format samples (the
same cases tests/test_readers_issue16.py and tests/test_faults.py hold), then
``wfmine`` runs on it in a child process, as a person would run it. Printed
per input: the exit code, the message a person reads (the error line, else the
first warning, else the first quarantine reason), the events and raw records
the store kept and the records it quarantined.

    python benchmarks/corpus_issue16.py            # a Markdown table on stdout

Not part of the test run (the tests assert each case; this prints them all).
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_servers import FakeServer, Reply, Request  # noqa: E402
from wfmine.store import Store  # noqa: E402

SAMPLE = ROOT / "sample_logs" / "acme"
LOGS = ROOT.parent / "shared" / "realdata" / "logs"
SLACK_ZIP = (
    ROOT.parent / "shared" / "realdata" / "slack" / "slack-export-viewer" / "testarchive.zip"
)
TOKEN = "ghp_CORPUStoken1234567890abcdef"
API = "https://api.github.com/repos/acme/api"


@dataclass
class Case:
    """One corpus input: the command to run and where its store is."""

    args: list[str]
    db: Path | None = None
    cwd: Path | None = None
    limit: int | None = None  # the largest file the child may write (a full disk)
    unprivileged: bool = False  # without root's override of file permissions
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""
    #: a path the run must not leave behind (reported as found or not)
    leftover: Path | None = None


def _jira_page() -> dict[str, Any]:
    page: dict[str, Any] = json.loads((SAMPLE / "jira" / "search_page_1.json").read_text("utf-8"))
    return page


def _pr(n: int) -> dict[str, Any]:
    return {
        "url": f"{API}/pulls/{n}", "html_url": f"https://github.com/acme/api/pull/{n}",
        "node_id": f"PR_{n}", "number": n, "title": f"ACME-{n} work", "body": "", "state": "closed",
        "user": {"login": "dana", "type": "User"}, "labels": [],
        "created_at": "2024-02-01T10:00:00Z", "updated_at": "2024-02-03T00:00:00Z",
        "closed_at": "2024-02-03T00:00:00Z", "merged_at": "2024-02-03T00:00:00Z",
        "head": {"ref": f"feature/ACME-{n}", "sha": f"{n:040d}"}, "base": {"ref": "main", "sha": "0" * 40},
    }  # fmt: skip


def _slack(root: Path, days: dict[str, bytes]) -> Path:
    (root / "general").mkdir(parents=True)
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    (root / "users.json").write_text(json.dumps([{"id": "U1", "name": "ann"}]))
    for name, data in days.items():
        (root / name).write_bytes(data)
    return root


def _msgs(*texts: str) -> bytes:
    return json.dumps([
        {"type": "message", "user": "U1", "ts": f"17041896{i:02d}.000100", "text": t}
        for i, t in enumerate(texts)
    ]).encode()  # fmt: skip


def _zip(path: Path, members: list[tuple[str, bytes]]) -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a duplicate name is the point of one case
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("channels.json", json.dumps([{"id": "C1", "name": "general"}]))
            zf.writestr("users.json", json.dumps([{"id": "U1", "name": "ann"}]))
            for name, data in members:
                zf.writestr(name, data)
    return path


def _declare(path: Path, member: str, declared: int) -> Path:
    """Set ``member``'s declared uncompressed size (local and central headers) to ``declared``."""
    data, raw = bytearray(path.read_bytes()), member.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = data.find(signature)
        while at != -1:
            if data[at + name_at : at + name_at + len(raw)] == raw:
                data[at + size_at : at + size_at + 4] = struct.pack("<I", declared)
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    return path


def _ingest(path: Path, tmp: Path, kind: str | None = None, **kw: Any) -> Case:
    db = tmp / "s.duckdb"
    return Case(
        ["ingest", *([kind] if kind else []), str(path), "--db", str(db), "--json"], db, **kw
    )


# -- the corpus ---------------------------------------------------------------------------


def bad_byte_jira(tmp: Path) -> Case:
    page = _jira_page()
    page["issues"][7]["fields"]["summary"] = "BAD-BYTE"
    (tmp / "page.json").write_bytes(
        json.dumps(page, ensure_ascii=False).encode().replace(b"BAD-BYTE", b"bad \xff title")
    )
    return _ingest(tmp / "page.json", tmp, "jira")


def bad_byte_slack(tmp: Path) -> Case:
    day = _msgs("fine", "BAD").replace(b"BAD", b"bad \xfe")
    return _ingest(_slack(tmp / "export", {"general/2024-01-02.json": day}), tmp, "slack")


def jira_error_page(tmp: Path) -> Case:
    (tmp / "jira").mkdir()
    (tmp / "jira" / "page.json").write_text(json.dumps({"issues": _jira_page()["issues"][:2]}))
    (tmp / "jira" / "page2.json").write_text(
        json.dumps({"errorMessages": ["The value 'X' does not exist for the field 'project'."]})
    )
    return _ingest(tmp / "jira", tmp, "jira")


def github_object_file(tmp: Path) -> Case:
    (tmp / "gh").mkdir()
    (tmp / "gh" / "pulls.json").write_text(json.dumps({"message": "Not Found", "status": "404"}))
    (tmp / "gh" / "more.json").write_text(json.dumps([_pr(1)]))
    return _ingest(tmp / "gh", tmp, "github")


def slack_foreign_file(tmp: Path) -> Case:
    root = _slack(
        tmp / "export", {"general/2024-01-02.json": _msgs("hi"), "general/notes.json": b"[]"}
    )
    return _ingest(root, tmp, "slack")


def review_without_time(tmp: Path) -> Case:
    review = {
        "id": 55, "state": "APPROVED", "user": {"login": "eve", "type": "User"},
        "pull_request_url": f"{API}/pulls/1", "html_url": "https://github.com/acme/api/pull/1#r55",
    }  # fmt: skip
    (tmp / "gh").mkdir()
    (tmp / "gh" / "pulls.json").write_text(json.dumps([_pr(1)]))
    (tmp / "gh" / "reviews.json").write_text(json.dumps([review]))
    return _ingest(tmp / "gh", tmp, "github")


def zip_duplicate_names(tmp: Path) -> Case:
    day = "general/2024-01-02.json"
    path = _zip(tmp / "export.zip", [(day, _msgs("a")), (day, _msgs("x", "b"))])
    return _ingest(path, tmp)


def bom_jira(tmp: Path) -> Case:
    doc = {"issues": _jira_page()["issues"][:2]}
    (tmp / "export.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    return _ingest(tmp / "export.json", tmp)


def bom_github(tmp: Path) -> Case:
    (tmp / "export.json").write_bytes(b"\xef\xbb\xbf" + json.dumps([_pr(1), _pr(2)]).encode())
    return _ingest(tmp / "export.json", tmp)


def github_past_200_files(tmp: Path) -> Case:
    (tmp / "gh").mkdir()
    for i in range(250):
        (tmp / "gh" / f"a{i:03d}.json").write_text(json.dumps({"name": f"check {i}", "ok": True}))
    (tmp / "gh" / "z.json").write_text(json.dumps([_pr(1)]))
    return _ingest(tmp / "gh", tmp)


def status_to_null(tmp: Path) -> Case:
    issue = {
        "id": "1", "key": "ACME-1",
        "fields": {"summary": "x", "created": "2024-03-01T09:00:00.000+0000",
                   "updated": "2024-03-02T09:00:00.000+0000", "status": {"name": "Done"}},
        "changelog": {"histories": [
            {"id": "10", "created": "2024-03-01T10:00:00.000+0000",
             "items": [{"field": "status", "fromString": "To Do", "toString": None}]},
            {"id": "11", "created": "2024-03-01T11:00:00.000+0000",
             "items": [{"field": "status", "fromString": "To Do", "toString": "Done"}]},
        ]},
    }  # fmt: skip
    (tmp / "issue.json").write_text(json.dumps(issue))
    return _ingest(tmp / "issue.json", tmp, "jira")


def xes_no_activity(tmp: Path) -> Case:
    text = (LOGS / "running-example.xes").read_text()
    # the log's global default for concept:name is the key name "name": it must not become one
    text = text.replace('<string key="concept:name" value="register request"/>', "", 1)
    (tmp / "noact.xes").write_text(text)
    return _ingest(tmp / "noact.xes", tmp)


def xes_no_timestamp(tmp: Path) -> Case:
    text = (LOGS / "running-example.xes").read_text()
    text = text.replace('<date key="time:timestamp" value="2010-12-30T14:32:00.000+01:00"/>', "", 1)
    (tmp / "nots.xes").write_text(text)
    return _ingest(tmp / "nots.xes", tmp)


def xes_truncated(tmp: Path) -> Case:
    data = (LOGS / "running-example.xes").read_bytes()
    (tmp / "cut.xes").write_bytes(data[: len(data) // 2])
    return _ingest(tmp / "cut.xes", tmp, "xes")


def xes_gzip_truncated(tmp: Path) -> Case:
    gz = gzip.compress((LOGS / "running-example.xes").read_bytes())
    (tmp / "cut.xes.gz").write_bytes(gz[: len(gz) // 2])
    return _ingest(tmp / "cut.xes.gz", tmp, "xes")


def csv_bad_rows(tmp: Path) -> Case:
    (tmp / "log.csv").write_text(
        "case:concept:name,concept:name,time:timestamp,org:resource\n"
        "c1,register,2024-01-01T10:00:00Z,ann\nc1,check,not a time,bob\n,approve,2024-01-02T10:00:00Z,ann\n"
        "c1,pay,2024-01-03T10:00:00Z,eve\n"
    )  # fmt: skip
    return _ingest(tmp / "log.csv", tmp, "csv")


def email_spoofing(tmp: Path) -> Case:
    (tmp / "spoof.mbox").write_bytes(
        b"From mallory@attacker.example Mon Jan  1 00:00:00 2024\n"
        b"From: =?utf-8?q?boss@acme.example?= <mallory@attacker.example>\n"
        b"To: team@acme.example\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
        b"Message-ID: <spoof@attacker.example>\nSubject: urgent\n\npay now\n"
    )
    return _ingest(tmp / "spoof.mbox", tmp, "email", note="actor = mallory@attacker.example")


def zip_slip(tmp: Path) -> Case:
    day = _msgs("a", "b", "c")
    members = [("general/2024-04-05.json", day), ("../evil/2024-04-05.json", day),
               ("/abs/2024-04-05.json", day)]  # fmt: skip
    return _ingest(_zip(tmp / "export.zip", members), tmp, "slack")


def zip_truncated(tmp: Path) -> Case:
    data = SLACK_ZIP.read_bytes()
    (tmp / "cut.zip").write_bytes(data[: len(data) // 2])
    return _ingest(tmp / "cut.zip", tmp, "slack")


def zip_corrupt_member(tmp: Path) -> Case:
    data = bytearray(SLACK_ZIP.read_bytes())
    data[200:260] = b"\x00" * 60
    (tmp / "bad.zip").write_bytes(bytes(data))
    return _ingest(tmp / "bad.zip", tmp, "slack")


def zip_member_too_big(tmp: Path) -> Case:
    path = tmp / "export.zip"
    _zip(path, [("general/2024-01-02.json", _msgs("hi"))])
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open("general/2024-01-03.json", "w", force_zip64=True) as out,
    ):
        for _ in range(300):
            out.write(bytes(1 << 20))
    return _ingest(path, tmp, "slack", note="300 MiB of zeros in a 0.3 MiB zip")


def zip_total_too_big(tmp: Path) -> Case:
    days = [(f"general/2024-02-{d:02d}.json", _msgs("hi")) for d in range(1, 18)]
    path = _zip(tmp / "export.zip", days)
    for name, _ in days:  # each declares 250 MiB: 4.2 GiB in all
        _declare(path, name, 250 << 20)
    return _ingest(path, tmp, "slack", note="17 members declaring 250 MiB each")


def zip_member_lies(tmp: Path) -> Case:
    path = _zip(tmp / "export.zip", [("general/2024-01-03.json", bytes(8 << 20))])
    return _ingest(_declare(path, "general/2024-01-03.json", 1000), tmp, "slack",
                   note="declares 1,000 bytes, holds 8 MiB")  # fmt: skip


def disk_full(tmp: Path) -> Case:
    db = tmp / "s.duckdb"
    _child(["ingest", str(LOGS / "running-example.xes"), "--db", str(db)], tmp)
    rows = "\n".join(f"c{i // 8},step {i % 8},2024-01-01T00:{i % 60:02d}:00Z,r{i % 7}"
                     for i in range(40_000))  # fmt: skip
    (tmp / "big.csv").write_text(
        "case:concept:name,concept:name,time:timestamp,org:resource\n" + rows
    )
    return Case(["ingest", str(tmp / "big.csv"), "--db", str(db), "--json"], db,
                limit=db.stat().st_size + 65536, note="40,000 new events; the store held 42")  # fmt: skip


def db_in_missing_folder(tmp: Path) -> Case:
    db = tmp / "a" / "b" / "s.duckdb"
    return Case(["ingest", str(LOGS / "running-example.xes"), "--db", str(db), "--json"], db)


def db_parent_is_a_file(tmp: Path) -> Case:
    (tmp / "file").write_text("x")
    return Case(
        ["ingest", str(LOGS / "running-example.xes"), "--db", str(tmp / "file" / "s.duckdb")]
    )


def report_read_only_folder(tmp: Path) -> Case:
    db = tmp / "s.duckdb"
    _child(["ingest", str(LOGS / "running-example.xes"), "--db", str(db)], tmp)
    (tmp / "ro").mkdir()
    (tmp / "ro").chmod(0o555)
    out = str(tmp / "ro" / "r.html")
    return Case(["report", "--db", str(db), "--design", str(SAMPLE / "design.yaml"), "--out", out],
                db, unprivileged=True)  # fmt: skip


def read_only_store(tmp: Path) -> Case:
    db = tmp / "s.duckdb"
    _child(["ingest", str(LOGS / "running-example.xes"), "--db", str(db)], tmp)
    db.chmod(0o444)
    design = SAMPLE / "design.yaml"
    return Case(
        ["check", "--db", str(db), "--design", str(design), "--json"], db, unprivileged=True
    )


def _github_routes(gone: bool) -> dict[str, Any]:
    routes: dict[str, Any] = {"/repos/acme/api/pulls": [Reply(200, [_pr(1)])]}
    for path in ("pulls/1/reviews", "pulls/1/commits", "issues/comments", "pulls/comments",
                 "issues/events"):  # fmt: skip
        routes[f"/repos/acme/api/{path}"] = [Reply(200, [])]
    routes["/repos/acme/api/issues"] = [
        Reply(410, {"message": "Issues are disabled for this repo"}) if gone else Reply(200, [])
    ]
    routes["/repos/acme/api/actions/runs"] = [Reply(200, {"workflow_runs": []})]
    return routes


def issues_disabled(tmp: Path, url: str) -> Case:
    db = tmp / "s.duckdb"
    return Case(["ingest", "github", "--repo", "acme/api", "--url", url, "--db", str(db), "--json"],
                db, env={"GITHUB_TOKEN": TOKEN})  # fmt: skip


def unreachable_connector(tmp: Path, url: str) -> Case:
    root = tmp / "ws"
    (root / "connectors").mkdir(parents=True)
    shutil.copy(LOGS / "running-example.xes", root / "log.xes")
    (root / "connectors" / "a_down.toml").write_text(
        f'kind = "github"\nurl = "{url}/down"\n[options]\nrepo = "acme/api"\n'
    )
    (root / "connectors" / "b_log.toml").write_text('kind = "xes"\npath = "log.xes"\n')
    return Case(
        ["ingest"], root / ".wfmine" / "store.duckdb", cwd=root, env={"GITHUB_TOKEN": TOKEN}
    )


def first_pull_fails(tmp: Path, url: str) -> Case:
    db = tmp / "new" / "s.duckdb"
    return Case(["ingest", "github", "--repo", "acme/api", "--url", f"{url}/refused", "--db", str(db)],
                db, env={"GITHUB_TOKEN": TOKEN}, leftover=tmp / "new")  # fmt: skip


CORPUS: dict[str, Callable[..., Case]] = {
    "Jira page, one invalid UTF-8 byte in 1 of 50 issues": bad_byte_jira,
    "Slack day file, one invalid UTF-8 byte in 1 of 2 messages": bad_byte_slack,
    "Jira folder: a page + an error response saved as a page": jira_error_page,
    "GitHub folder: pulls.json holding an object + a PR file": github_object_file,
    "Slack export with a file that is not a day file": slack_foreign_file,
    "GitHub: an APPROVED review without submitted_at": review_without_time,
    "Slack zip: two members of one name (1 + 2 messages)": zip_duplicate_names,
    "Jira file with a UTF-8 BOM, alone": bom_jira,
    "GitHub file with a UTF-8 BOM, alone": bom_github,
    "GitHub folder: 250 foreign JSON files before the PR file": github_past_200_files,
    "Jira status change with toString: null": status_to_null,
    "XES event without concept:name": xes_no_activity,
    "XES event without time:timestamp": xes_no_timestamp,
    "XES file cut in half": xes_truncated,
    "XES .gz cut in half": xes_gzip_truncated,
    "CSV: a row without case, a row with a bad time": csv_bad_rows,
    "mbox: From spoofed with an encoded word": email_spoofing,
    "Slack zip with zip-slip members (../, /abs)": zip_slip,
    "Slack zip cut in half": zip_truncated,
    "Slack zip with a corrupt member": zip_corrupt_member,
    "Slack zip: a member over the member limit": zip_member_too_big,
    "Slack zip: members over the total limit (declared)": zip_total_too_big,
    "Slack zip: a member lying about its size": zip_member_lies,
    "Disk full during the store write": disk_full,
    "--db in a missing folder": db_in_missing_folder,
    "--db whose parent is a file": db_parent_is_a_file,
    "report --out into a read-only folder": report_read_only_folder,
    "check on a read-only store": read_only_store,
    "GitHub live: Issues disabled (410 on /issues)": issues_disabled,
    "Workspace: an unreachable live connector + an XES file": unreachable_connector,
    "First live pull to a new --db fails (401)": first_pull_fails,
}


def _child(
    args: list[str], cwd: Path, case: Case | None = None
) -> subprocess.CompletedProcess[str]:
    prefix: list[str] = []
    if case is not None and case.unprivileged and os.geteuid() == 0:
        # root writes anywhere: drop the capabilities that override file permissions
        caps = "-dac_override,-dac_read_search"
        prefix = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]

    def limit() -> None:
        if case is not None and case.limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (case.limit, case.limit))

    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "400", **(case.env if case else {})}
    return subprocess.run([*prefix, sys.executable, "-m", "wfmine", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, preexec_fn=limit, check=False)  # fmt: skip


def _message(done: subprocess.CompletedProcess[str], quarantine_reason: str | None) -> str:
    lines = [x.strip() for x in done.stderr.splitlines()]
    loud = [x for x in lines if x.startswith(("wfmine: error:", "✗"))]
    if loud:
        return loud[0]
    warnings: list[str] = []
    try:
        payload = json.loads(done.stdout)
        for item in payload.get("loaded", []) if isinstance(payload, dict) else []:
            warnings += item.get("warnings", [])
        for item in payload.get("skipped", []) if isinstance(payload, dict) else []:
            warnings.append(f"skipped {item['path']}: {item['reason']}")
    except ValueError:
        pass
    if warnings:
        return warnings[0]
    return f"quarantined: {quarantine_reason}" if quarantine_reason else "ok"


def _counts(db: Path | None) -> tuple[str, str, str, str | None]:
    if db is None or not db.exists():
        return "—", "—", "—", None
    with Store(db, read_only=True) as store:
        counts = store.counts()
        reasons = store.sql("SELECT reason FROM quarantine ORDER BY record_ref LIMIT 1")["reason"]
    first = reasons[0] if reasons.len() else None
    return str(counts["events"]), str(counts["raw_records"]), str(counts["quarantine"]), first


def main() -> None:
    rows = []

    def down(request: Request) -> Reply:
        if request.path.startswith("/down/"):
            return Reply(503, {"message": "maintenance"}, headers={"Retry-After": "3600"})
        return Reply(401, {"message": "Bad credentials"})

    with FakeServer(_github_routes(gone=True)) as gone, FakeServer({}) as refusing:
        refusing.routes = {
            "/down/repos/acme/api/pulls": down,
            "/refused/repos/acme/api/pulls": down,
        }
        for label, build in CORPUS.items():
            with tempfile.TemporaryDirectory() as name:
                tmp = Path(name)
                if build is issues_disabled:
                    case = build(tmp, gone.url)
                elif build in (unreachable_connector, first_pull_fails):
                    case = build(tmp, refusing.url)
                else:
                    case = build(tmp)
                done = _child(case.args, case.cwd or tmp, case)
                events, raw, quarantined, reason = _counts(case.db)
                message = _message(done, reason).replace(name, "$TMP").replace(str(ROOT), ".")
                message = message.replace(gone.url, "$URL").replace(refusing.url, "$URL")
                if case.leftover is not None:
                    found = "yes" if case.leftover.exists() else "no"
                    case.note = f"store, .wal or folder left behind: {found}"
                if case.note:
                    message += f" [{case.note}]"
                rows.append((label, done.returncode, message, events, raw, quarantined))
                if (tmp / "ro").exists():
                    (tmp / "ro").chmod(0o755)
    print("| input | exit | message | events kept | raw records kept | quarantined |")
    print("|---|---|---|---|---|---|")
    for label, code, message, events, raw, quarantined in rows:
        text = message if len(message) <= 320 else message[:317] + "…"
        print(f"| {label} | {code} | {text.replace('|', '/')} | {events} | {raw} | {quarantined} |")


if __name__ == "__main__":
    main()
