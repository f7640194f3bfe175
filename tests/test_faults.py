"""Issue 16, "failing badly": faults of the machine and of the sources, each one line and a store intact.

- a full disk during a store write (a subprocess under ``RLIMIT_FSIZE``, SIGXFSZ ignored,
  so writes fail with EFBIG as on a full disk): exit 2, one line, the store as it was;
- a GitHub repository with Issues disabled (410 on ``/issues``): the rest is loaded;
- one unreachable live connector of a workspace: the other connectors load, the failed
  one is named, the run exits 1;
- a failed first write to a new ``--db``: no store file is left behind;
- zip bombs: limits per member and in total, on declared and on real sizes;
- SIGKILL at several points of a multi-source run: whole inputs only, and a rerun
  gives exactly the tables of one clean run.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from typer.testing import CliRunner

from tests.conftest import LOGS, ROOT, SAMPLE, need
from tests.fake_servers import FakeServer, Reply, Request
from wfmine.cli import app
from wfmine.connectors import _safezip, github, slack
from wfmine.errors import FormatError
from wfmine.store import Store

runner = CliRunner()
TOKEN = "ghp_FAKEfaults1234567890abcdef"
GITHUB = SAMPLE / "github"


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, limit: int | None = None
) -> subprocess.Popen[str]:
    """``wfmine ARGS`` in a child process (``limit``: the largest file it may write)."""

    def preexec() -> None:
        if limit is not None:  # writes past the limit fail with EFBIG instead of killing
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.Popen(
        [sys.executable, "-m", "wfmine", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec,
    )


def _big_csv(path: Path, rows: int) -> Path:
    """A generated event log (pm4py column names) of ``rows`` events."""
    pl.DataFrame(
        {
            "case:concept:name": [f"c{i // 8}" for i in range(rows)],
            "concept:name": [f"step {i % 8}" for i in range(rows)],
            "time:timestamp": pl.datetime_range(
                pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 1) + pl.duration(minutes=rows - 1),
                "1m", eager=True, time_zone="UTC",
            ),
            "org:resource": [f"r{i % 17}" for i in range(rows)],
        }
    ).write_csv(path)  # fmt: skip
    return path


def _snapshot(db: Path) -> dict[str, Any]:
    """Counts and a content hash per table, without the run numbers (they differ per run)."""
    out: dict[str, Any] = {}
    with Store(db, read_only=True) as store:
        for table in ("events", "raw_records", "objects", "object_links", "quarantine", "actors"):
            frame = store.table(table)
            frame = frame.drop([c for c in ("ingest_run",) if c in frame.columns])
            frame = frame.sort(frame.columns)
            out[table] = (frame.height, hashlib.sha256(frame.write_csv().encode()).hexdigest())
    return out


# -- a full disk ---------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [40_000, 150_000], ids=["in-the-log", "in-the-file"])
def test_a_full_disk_during_a_store_write_is_one_line_and_the_store_is_kept(
    tmp_path: Path, rows: int
) -> None:
    db = tmp_path / "s.duckdb"
    assert _run("ingest", str(need(LOGS / "running-example.xes")), "--db", str(db))[0] == 0
    before = _snapshot(db)
    big = _big_csv(tmp_path / "big.csv", rows)
    # no file may grow past the store's size plus 64 KiB: the write of the CSV's events
    # fails as on a full disk, in the write-ahead log (a small write) or, for a large
    # one the engine writes straight into the store file, there (the error that surfaces
    # then is "transaction aborted": the line names its cause)
    child = _cli("ingest", str(big), "--db", str(db), cwd=tmp_path, limit=db.stat().st_size + 65536)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 2, err
    [line] = [x for x in err.splitlines() if x.startswith("wfmine: error:")]
    assert "Traceback" not in out + err
    assert f"{db}: the store could not be written (File too large: is the disk full?)" in line
    assert _snapshot(db) == before  # it opens, with what it held
    with Store(db) as store:
        assert store.runs().get_column("status").to_list() == ["ok"]


def test_sigkill_while_a_large_run_is_written_straight_into_the_file(tmp_path: Path) -> None:
    """A run too large for the write-ahead log is checkpointed by its commit straight into the
    store file (store.py): a kill while the file grows leaves the store as it was or with the
    whole run, never part of it, and a rerun ends where an unkilled run does."""
    db = tmp_path / "s.duckdb"
    assert _run("ingest", str(need(LOGS / "running-example.xes")), "--db", str(db))[0] == 0
    big = _big_csv(tmp_path / "big.csv", 150_000)
    clean = tmp_path / "clean.duckdb"
    shutil.copy(db, clean)
    assert _run("ingest", str(big), "--db", str(clean))[0] == 0
    before, after = _snapshot(db), _snapshot(clean)
    size = db.stat().st_size
    child = _cli("ingest", str(big), "--db", str(db), cwd=tmp_path)
    wal = db.with_name(db.name + ".wal")
    while child.poll() is None and db.stat().st_size == size and not wal.exists():
        time.sleep(0.005)  # until the engine writes the run's rows (into the file: no WAL)
    child.kill()
    child.communicate()
    assert child.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert _snapshot(db) in (before, after)  # it opens, holding no part of the run
    assert _run("ingest", str(big), "--db", str(db))[0] == 0
    assert _snapshot(db) == after


# -- a repository with Issues disabled -----------------------------------------------------


def _replay(
    root: Path, *, gone: tuple[str, ...] = (), prs: int | None = None
) -> Callable[[Request], Reply]:
    """Serve a GitHub export laid out by API path (``[]`` where it has none).

    ``gone``: paths of acme/api answering 410; ``prs``: serve only the first PRs (a
    smaller repository: fewer requests).
    """

    def reply(request: Request) -> Reply:
        path = request.path
        if any(path == f"/repos/acme/api/{g}" for g in gone):
            return Reply(410, {"message": "Issues are disabled for this repo"})
        file = root / (path.lstrip("/") + ".json")
        if request.param("state") == "open" or not file.is_file():
            return Reply(200, {"workflow_runs": []} if path.endswith("/actions/runs") else [])
        since = request.param("since")
        if since is None and (prs is None or not path.endswith("/pulls")):
            return Reply(200, file.read_bytes())
        items = json.loads(file.read_bytes())
        if prs is not None and path.endswith("/pulls"):
            items = items[:prs]
        if since is not None:  # as GitHub: only what was updated since
            items = [i for i in items if str(i.get("updated_at", "")) >= since]
        return Reply(200, items)

    return reply


class _Replaying(FakeServer):
    def __init__(self, serve: Callable[[Request], Reply]) -> None:
        super().__init__({})
        self._serve = serve

    def _reply(self, request: Request) -> Reply:
        self.requests.append(request)
        return self._serve(request)


def test_a_repository_with_issues_disabled_loads_everything_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with _Replaying(_replay(need(GITHUB), gone=("issues",))) as srv:
        batch = github.pull("acme", "api", base_url=srv.url, client=httpx.Client())
        assert srv.hits("/repos/acme/api/issues") == 1  # asked once, not retried
        code, out, err = _run("ingest", "github", "--repo", "acme/api", "--url", srv.url,
                              "--db", str(tmp_path / "s.duckdb"))  # fmt: skip
    activities = set(batch.events.get_column("activity"))
    assert {"PR opened", "PR merged", "PR approved"} <= activities
    assert batch.objects.filter(pl.col("object_type") == "pull_request").height == 75
    [warning] = [w for w in batch.warnings if "410" in w]
    assert "acme/api: Issues are disabled on this repository" in warning
    assert "pull requests, reviews, commits and checks were loaded" in warning
    said = " ".join(out.split())
    assert code == 0, err
    assert "Issues are disabled on this repository" in said and "new events" in said


# -- one unreachable live connector of a workspace ----------------------------------------


def _workspace(root: Path, url: str, *, big: int = 0) -> Path:
    """Connectors: GitHub live (acme/infra, acme/web), then files: an XES log and a big CSV."""
    (root / "connectors").mkdir(parents=True)
    for name, repo in (("a_infra", "acme/infra"), ("b_web", "acme/web")):
        (root / "connectors" / f"{name}.toml").write_text(
            f'kind = "github"\nurl = "{url}"\n[options]\nrepo = "{repo}"\n', encoding="utf-8"
        )
    shutil.copy(need(LOGS / "running-example.xes"), root / "log.xes")
    files = [("d_log", "xes", "log.xes")]
    if big:
        files.append(("e_big", "csv", _big_csv(root / "big.csv", big).name))
    for name, kind, rel in files:
        (root / "connectors" / f"{name}.toml").write_text(
            f'kind = "{kind}"\npath = "{rel}"\n', encoding="utf-8"
        )
    return root


def test_an_unreachable_live_connector_does_not_stop_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    serve = _replay(need(GITHUB), prs=4)

    def down_for_web(request: Request) -> Reply:  # acme/web: down for maintenance
        if request.path.startswith("/repos/acme/web/"):
            return Reply(503, {"message": "maintenance"}, headers={"Retry-After": "3600"})
        return serve(request)

    with _Replaying(down_for_web) as srv:
        root = _workspace(tmp_path / "ws", srv.url)
        monkeypatch.chdir(root)
        code, out, err = _run("ingest")
        json_code, json_out, _ = _run("ingest", "--json")
        # the main job reads the same way: the rest analysed, the failed pull named, exit 1
        disc_code, disc_out, disc_err = _run("discover", "--no-report")
    assert code == 1, err
    assert disc_code == 1, disc_err
    assert "live connector b_web" in " ".join(disc_err.split())
    assert "cases" in disc_out
    said = " ".join(out.split())
    assert "github: " + srv.url in said and "xes: " in said
    [line] = [x for x in " ".join(err.split()).split("✗ ")[1:]]
    assert line.startswith(f"live connector b_web (github, {srv.url}) was not pulled:")
    assert "retry later" in line and "this run counts as failed" in line
    with Store(root / ".wfmine" / "store.duckdb", read_only=True) as store:
        runs = store.runs()
        sources = store.sql("SELECT DISTINCT source FROM events ORDER BY 1")["source"].to_list()
    assert sources == ["github", "xes"]
    assert runs.filter(pl.col("scope") == "acme/web").height == 0  # nothing of it committed
    # the rerun (files unchanged) is still not clean while acme/web is down, in JSON too
    assert json_code == 1
    payload = json.loads(json_out)
    assert [f["connector"] for f in payload["failed"]] == ["b_web"]
    assert payload["failed"][0]["status"] == 503


def test_a_workspace_of_live_connectors_that_all_fail_is_one_line_and_no_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with _Replaying(lambda request: Reply(401, {"message": "Bad credentials"})) as srv:
        root = tmp_path / "ws"
        (root / "connectors").mkdir(parents=True)
        (root / "connectors" / "a.toml").write_text(
            f'kind = "github"\nurl = "{srv.url}"\n[options]\nrepo = "acme/api"\n'
        )
        monkeypatch.chdir(root)
        code, out, err = _run("ingest")
    assert code == 2, out + err
    said = " ".join(err.split())
    assert "live connector a (github" in said and "nothing else to load" in said
    assert "other inputs were loaded" not in said and TOKEN not in out + err
    assert not (root / ".wfmine").exists()


# -- no empty store left behind ------------------------------------------------------------


def test_a_failed_first_write_to_a_new_db_leaves_no_store_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with FakeServer({"/repos/acme/api/pulls": [Reply(401, {"message": "Bad credentials"})]}) as srv:
        db = tmp_path / "new" / "deeper" / "s.duckdb"
        code, _, err = _run("ingest", "github", "--repo", "acme/api", "--url", srv.url,
                            "--db", str(db))  # fmt: skip
    assert code == 2 and "refused the request (401)" in err and err.count("\n") == 1
    assert not (tmp_path / "new").exists()  # no store, no .wal, no folders it made
    broken = tmp_path / "broken.xes"
    broken.write_text("<log><trace><event>", encoding="utf-8")
    code, _, err = _run("ingest", "xes", str(broken), "--db", str(tmp_path / "s.duckdb"))
    assert code == 2 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.xes"]
    # a store that existed is kept as it was, even when the command failed
    kept = tmp_path / "kept.duckdb"
    assert _run("ingest", str(need(LOGS / "running-example.xes")), "--db", str(kept))[0] == 0
    assert _run("ingest", "xes", str(broken), "--db", str(kept))[0] == 2
    with Store(kept, read_only=True) as store:
        assert store.counts()["events"] == 42


# -- zip bombs -------------------------------------------------------------------------------


def _slack_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("channels.json", json.dumps([{"id": "C1", "name": "general"}]))
        zf.writestr("users.json", json.dumps([{"id": "U1", "name": "ann"}]))
        day = [{"type": "message", "user": "U1", "ts": "1704189600.000100", "text": "hi"}]
        zf.writestr("general/2024-01-02.json", json.dumps(day))
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Limits of 4 MiB a member and 10 MiB in all, so the bombs stay tiny files."""
    monkeypatch.setattr(_safezip, "MAX_MEMBER_BYTES", 4 << 20)
    monkeypatch.setattr(_safezip, "MAX_TOTAL_BYTES", 10 << 20)
    yield


def test_a_member_over_the_limit_is_refused_without_being_decompressed(
    tmp_path: Path, small_limits: None
) -> None:
    path = _slack_zip(tmp_path / "export.zip", {"general/2024-01-03.json": bytes(6 << 20)})
    assert path.stat().st_size < 20_000
    batch = slack.load(path)
    assert batch.events.height == 1  # the rest loads
    [row] = batch.quarantine.to_dicts()
    assert row["record_ref"] == f"{path}!general/2024-01-03.json"
    assert "declares 6,291,456 bytes uncompressed, more than the 4 MiB" in row["reason"]


def test_members_over_the_total_limit_refuse_the_archive(
    tmp_path: Path, small_limits: None
) -> None:
    days = {f"general/2024-01-{d:02d}.json": bytes(3 << 20) for d in (3, 4, 5, 6)}
    path = _slack_zip(tmp_path / "export.zip", days)
    with pytest.raises(FormatError) as info:
        slack.load(path)
    assert str(info.value) == (
        f"{path}: general/2024-01-06.json: the zip's members declare more than 10 MiB "
        "uncompressed in total: refused as a likely zip bomb, nothing was decompressed"
    )


def _lie_about_size(data: bytes, member: str, declared: int) -> bytes:
    """The zip ``data`` with ``member``'s uncompressed size set to ``declared`` everywhere."""
    out = bytearray(data)
    name = member.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = out.find(signature)
        while at != -1:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if out[name_at : name_at + len(name)] == name:
                out[at + offset : at + offset + 4] = struct.pack("<I", declared)
            at = out.find(signature, at + 4)
    return bytes(out)


def test_a_member_lying_about_its_size_is_stopped_while_streamed(
    tmp_path: Path, small_limits: None
) -> None:
    liar = "general/2024-01-03.json"
    honest = _slack_zip(tmp_path / "honest.zip", {liar: bytes(8 << 20)}).read_bytes()
    path = tmp_path / "liar.zip"
    path.write_bytes(_lie_about_size(honest, liar, 1000))  # declares 1,000 bytes, holds 8 MiB
    tree = _safezip.open_tree(path)
    try:
        assert liar in tree.names  # the declared size passes the checks at open
        with pytest.raises(FormatError) as info:
            tree.read(liar)
    finally:
        tree.close()
    message = str(info.value)
    assert message.startswith(f"{path}: {liar}: damaged zip member (its data does not match")
    assert "Bad CRC-32" in message
    # and the archive limit counts the bytes that really came out, not the declared ones
    many = {f"general/2024-01-{d:02d}.json": bytes(3 << 20) for d in (3, 4, 5)}
    data = _slack_zip(tmp_path / "three.zip", many).read_bytes()
    path = tmp_path / "three-lying.zip"
    path.write_bytes(_lie_about_size(data, "general/2024-01-05.json", 1000))
    tree = _safezip.open_tree(path)
    try:
        tree.read("general/2024-01-03.json")
        tree.read("general/2024-01-04.json")
        tree.read("general/2024-01-03.json")  # a member read twice counts once
        with pytest.raises(FormatError, match="damaged zip member"):
            tree.read("general/2024-01-05.json")  # stopped at 1,000 bytes, then its CRC fails
    finally:
        tree.close()


# -- SIGKILL at several points of a multi-source run ----------------------------------------


def _per_input(db: Path) -> dict[str, tuple[int, int]]:
    """Per committed input (its origin and scope): the events and raw records it added."""
    with Store(db, read_only=True) as store:
        rows = store.sql(
            "SELECT r.origin || ' ' || r.scope AS input, "
            "(SELECT count(*) FROM events e WHERE e.ingest_run = r.run_id) AS events, "
            "(SELECT count(*) FROM raw_records w WHERE w.ingest_run = r.run_id) AS raw "
            "FROM ingest_runs r WHERE r.status = 'ok'"
        )
        orphans = store.sql(
            "SELECT count(*) AS n FROM events WHERE ingest_run NOT IN "
            "(SELECT run_id FROM ingest_runs WHERE status = 'ok')"
        )
    assert orphans["n"][0] == 0
    return {r["input"]: (r["events"], r["raw"]) for r in rows.iter_rows(named=True)}


def _said(child: subprocess.Popen[str], text: str) -> None:
    """Read the child's stderr until a line says ``text``."""
    assert child.stderr is not None
    for line in child.stderr:
        if text in line:
            return
    raise AssertionError(f"the run ended before saying {text!r}")


def test_sigkill_at_several_points_of_a_multi_source_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction per input: a killed run leaves whole inputs; a rerun completes the rest."""
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    serve = _replay(need(GITHUB), prs=4)
    hanging = {"on": False}
    asked, release = threading.Event(), threading.Event()

    def reply(request: Request) -> Reply:
        if hanging["on"] and request.path.startswith("/repos/acme/web/"):
            asked.set()
            release.wait(30)  # hangs until the client is killed
        return serve(request)

    with _Replaying(reply) as srv:
        root = _workspace(tmp_path / "ws", srv.url, big=40_000)
        monkeypatch.chdir(root)
        assert _run("ingest", "--db", str(root / "clean.duckdb"))[0] == 0
        clean = _snapshot(root / "clean.duckdb")
        whole = _per_input(root / "clean.duckdb")

        def killed(name: str, until: Callable[[subprocess.Popen[str], Path], None]) -> Path:
            db = root / f"{name}.duckdb"
            child = _cli("ingest", "--db", str(db), cwd=root)
            until(child, db)
            child.kill()
            child.communicate()
            assert child.returncode == -signal.SIGKILL
            return db

        def in_the_second_pull(child: subprocess.Popen[str], db: Path) -> None:
            assert asked.wait(30)

        def between_inputs(child: subprocess.Popen[str], db: Path) -> None:
            _said(child, "Loading csv")  # the pulls and the XES log are committed

        def in_the_big_file(child: subprocess.Popen[str], db: Path) -> None:
            _said(child, "Loading csv")
            wal = db.with_name(db.name + ".wal")
            size = db.stat().st_size
            while child.poll() is None and db.stat().st_size == size and not wal.exists():
                release.wait(0.01)  # until the engine writes the CSV's rows

        hanging["on"] = True
        stores = [killed("k_pull", in_the_second_pull)]
        hanging["on"] = False
        release.set()
        stores += [killed("k_between", between_inputs), killed("k_file", in_the_big_file)]
        for db in stores:
            committed = _per_input(db)  # it opens, and holds whole inputs only
            assert committed and all(whole[k] == v for k, v in committed.items()), db.name
            assert len(committed) < len(whole), db.name
            code, out, err = _run("ingest", "--db", str(db))
            assert code == 0, err
            assert _snapshot(db) == clean, db.name
            assert "unchanged, not read again" in out or db.stem == "k_pull"
            code, out, _ = _run("runs", "--db", str(db), "--json")
            assert {r["status"] for r in json.loads(out)} == {"ok"}
