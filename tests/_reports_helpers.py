"""Shared fixtures for the report tests: a synthetic flat log, hostile findings, a browser probe."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl

from wfmine.analysis import Analysis
from wfmine.model import LOG_SCHEMA

CHROMIUM = "/usr/bin/chromium"
#: Strings planted in source data; if any of them runs, it sets document.title or a global.
EVIL_ACTIVITY = "</script><script>window.__pwned='activity';document.title='pwned'</script>"
EVIL_ACTOR = "<img src=x onerror=\"window.__pwned='actor';document.title='pwned'\">"
EVIL_MESSAGE = "<script>window.__pwned='slack';document.title='pwned'</script> deploy done"
EVIL_TITLE = "Login <svg onload=\"window.__pwned='title'\"> broken"

ACTIVITIES = [
    "Issue created",
    "Status: In Progress",
    "PR opened",
    "PR approved",
    "PR merged",
    "Status: Done",
]


def synthetic_log(n_cases: int = 60, *, seed: int = 7, evil: bool = True) -> pl.DataFrame:
    """A small flat log in LOG_SCHEMA: six-step cases, some skipped steps and rework."""
    rnd = random.Random(seed)
    acts = list(ACTIVITIES)
    if evil:
        acts[2] = EVIL_ACTIVITY
    rows: list[dict[str, Any]] = []
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for c in range(n_cases):
        t = t0 + dt.timedelta(hours=rnd.randint(0, 24 * 100))
        steps = list(acts)
        if rnd.random() < 0.2:
            steps[3:3] = [acts[2], "Changes requested"]
        for i, a in enumerate(steps):
            if i in (2, 3) and rnd.random() < 0.1:
                continue
            t += dt.timedelta(hours=rnd.randint(1, 60))
            actor = rnd.randint(0, 5)
            rows.append(
                {
                    "case_id": f"jira:ACME-{c}",
                    "activity": a,
                    "timestamp": t,
                    "seq": i,
                    "event_id": f"e{c}-{i}",
                    "actor_id": f"u{actor}",
                    "resource": EVIL_ACTOR if (evil and actor == 3) else f"Person {actor}",
                    "actor_kind": "agent" if actor == 5 else "human",
                    "team": "eng" if i < 4 else "ops",
                    "source": "jira",
                    "object_id": f"jira:ACME-{c}",
                    "object_type": "issue",
                }
            )
    return pl.DataFrame(rows, schema=LOG_SCHEMA)


def big_log(n_events: int, *, seed: int = 1) -> pl.DataFrame:
    """A large synthetic log built with polars expressions (10 events per case)."""
    n_cases = n_events // 10
    acts = [f"Activity {i:02d}" for i in range(14)]
    df = pl.DataFrame({"i": pl.arange(0, n_events, eager=True)})
    case = pl.col("i") // 10
    step = pl.col("i") % 10
    rng = (pl.col("i") * 2654435761 + seed) % 1000003
    return (
        df.select(
            pl.format("case-{}", case).alias("case_id"),
            pl.lit(acts[0]).alias("_a0"),
            pl.when(step == 0)
            .then(pl.lit(acts[0]))
            .otherwise(
                pl.concat_str(
                    pl.lit("Activity "), ((step + rng % 4) % 14).cast(pl.String).str.zfill(2)
                )
            )
            .alias("activity"),
            (
                pl.lit(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
                + pl.duration(hours=case % 5000 + step * 7 + rng % 5)
            ).alias("timestamp"),
            step.cast(pl.Int64).alias("seq"),
            pl.format("ev-{}", pl.col("i")).alias("event_id"),
            pl.format("actor-{}", rng % 40).alias("actor_id"),
            pl.format("Actor {}", rng % 40).alias("resource"),
            pl.when(rng % 7 == 0)
            .then(pl.lit("agent"))
            .otherwise(pl.lit("human"))
            .alias("actor_kind"),
            pl.format("team-{}", step // 4).alias("team"),
            pl.lit("csv").alias("source"),
            pl.format("case-{}", case).alias("object_id"),
            pl.lit("case").alias("object_type"),
        )
        .drop("_a0")
        .cast(dict(LOG_SCHEMA))
        .select(list(LOG_SCHEMA))
        if n_cases
        else pl.DataFrame(schema=LOG_SCHEMA)
    )  # type: ignore[arg-type]


def hostile_findings() -> pl.DataFrame:
    """A findings frame in the contract's shape whose text tries to inject markup."""
    weekly = [
        {"week": f"2024-01-{d:02d}", "cases": n, "active_cases": 20}
        for d, n in ((1, 4), (8, 3), (15, 2), (22, 1))
    ]
    rows = [
        (
            "shadow_agent",
            "ops-sync",
            "high",
            "Behaves like automation in build: " + EVIL_MESSAGE,
            {
                "cases": ["ACME-1", "ACME-2"],
                "events": 40,
                "signals": ["regular cadence", EVIL_ACTOR],
            },
            "rising",
        ),
        (
            "failure_pattern",
            "rework_loop@review",
            "medium",
            "Review sends work back to build.",
            {"cases": [f"ACME-{i}" for i in range(3, 20)], "events": 80, "weekly": weekly},
            "declining",
        ),
        (
            "failure_pattern",
            "stall@qa",
            "low",
            "Cases wait in QA.",
            {"cases": ["ACME-30", "ACME-31", "ACME-32"]},
            None,
        ),
        (
            "gate_violation",
            "jira:ACME-40",
            "high",
            "Merged with one human approval; two required.",
            {"cases": ["ACME-40"], "type": "missing_two_humans", "tier": "high_stakes"},
            None,
        ),
        (
            "unowned_seam",
            "eng -> ops",
            "medium",
            "Nobody owns the eng → ops handoff: " + EVIL_TITLE,
            {"cases": ["ACME-5"], "handoffs": 12, "wait_median_s": 86400},
            "stable",
        ),
    ]
    frame = pl.DataFrame(
        [
            {"finding_id": f"f{i}", "kind": k, "subject": s, "severity": sev, "summary": summ,
             "evidence": json.dumps(ev), "first_seen": "2024-01-03", "last_seen": "2024-04-01", "trend": tr}
            for i, (k, s, sev, summ, ev, tr) in enumerate(rows)
        ]
    )  # fmt: skip
    # the shadow agent's display name, its broken assumption and the suggested patch carry markup too
    first = pl.int_range(pl.len()) == 0
    return frame.with_columns(
        pl.when(first).then(pl.lit(EVIL_ACTOR)).otherwise(pl.col("subject")).alias("subject_name"),
        pl.when(first).then(pl.lit("The design assumes " + EVIL_TITLE)).alias("assumption"),
        pl.when(first)
        .then(
            pl.lit(json.dumps({"patch": "agents:\n  - id: " + EVIL_MESSAGE, "effect": EVIL_TITLE}))
        )
        .alias("suggestion"),
    )


class _Attrs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        for name, value in attrs:
            if (
                name in {"src", "href", "action", "srcset", "poster", "data", "xlink:href"}
                and value
            ):
                self.urls.append((tag, name, value))


def external_refs(html: str) -> list[tuple[str, str, str]]:
    """Every src/href-like attribute that points off the page."""
    parser = _Attrs()
    parser.feed(html)
    return [u for u in parser.urls if re.match(r"\s*(https?:)?//", u[2], re.I)]


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every start tag with its attributes (script bodies are not parsed as tags)."""
    parser = _Attrs()
    parser.feed(html)
    return parser.tags


_PROBE_HEAD = """<script>window.__errors=[];window.onerror=function(m,s,l){__errors.push(String(m)+' @'+l);};
window.addEventListener('unhandledrejection',function(e){__errors.push('rejection: '+e.reason);});
(function(){var ce=console.error;console.error=function(){__errors.push(Array.prototype.join.call(arguments,' '));ce.apply(console,arguments);};})();</script>"""
_PROBE_TAIL = """<pre id="probe"></pre><script>(function(){var n=0;
function done(){
var charts=[].map.call(document.querySelectorAll('.wf-chart'),function(d){return {id:d.id,svg:!!d.querySelector('svg.main-svg')};});
var de=document.documentElement;
var wide=[].filter.call(document.querySelectorAll('main *'),function(e){var r=e.getBoundingClientRect();
 return r.width>0&&r.right>window.innerWidth+1&&!e.closest('.tbl,.wf-chart,nav');}).slice(0,5).map(function(e){return e.tagName+'.'+e.className;});
var out=JSON.stringify({errors:window.__errors,title:document.title,
pwned:window.__pwned||null,charts:charts,state:de.getAttribute('data-charts'),
width:window.innerWidth,scroll_width:de.scrollWidth,too_wide:wide,
groups:[].map.call(document.querySelectorAll('h2.group-title'),function(h){return h.textContent;}),
headings:[].map.call(document.querySelectorAll('section.card > h3'),function(h){return h.textContent;})});
document.getElementById('probe').textContent=out;
if(window.parent!==window){window.parent.postMessage({probe:out,dom:de.outerHTML},'*');}}
function openAll(){document.querySelectorAll('details').forEach(function(d){d.open=true;});setTimeout(done,1500);}
function poll(){n++;if(document.documentElement.getAttribute('data-charts')==='done'||n>80){setTimeout(openAll,300);}else{setTimeout(poll,100);}}
poll();})();</script>"""


#: headless Chromium does not make a window narrower than this
_MIN_WINDOW = 500
#: a page showing the report in a frame ``width`` px wide, reporting what the frame's probe saw
_FRAME = """<!DOCTYPE html><html><body style="margin:0">
<iframe src="{name}" style="border:0;width:{width}px;height:2400px;display:block"></iframe>
<pre id="probe"></pre><textarea id="dom"></textarea>
<script>addEventListener('message',function(e){{document.getElementById('probe').textContent=e.data.probe;
document.getElementById('dom').textContent=e.data.dom;}});</script></body></html>"""


def probe_in_browser(
    html: str, *, width: int = 1400, screenshot: Path | None = None
) -> dict[str, Any]:
    """Open a probe-instrumented copy of ``html`` in headless Chromium ``width`` px wide.

    The probe waits for the charts, opens every collapsed block (its charts
    draw on opening), then reports console errors, whether planted markup
    ran, which charts have an SVG, the headings, and what sticks out
    horizontally (tables and charts scroll inside their own box).
    """
    instrumented = html.replace("<head>", "<head>" + _PROBE_HEAD, 1).replace(
        "</body>", _PROBE_TAIL + "</body>", 1
    )
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(instrumented, encoding="utf-8")
        target = page
        if width < _MIN_WINDOW:  # headless windows are at least 500 px: frame the page instead
            target = Path(tmp) / "frame.html"
            target.write_text(_FRAME.format(width=width, name="report.html"), encoding="utf-8")
            plain_frame = Path(tmp) / "plain-frame.html"
            plain_frame.write_text(_FRAME.format(width=width, name="plain.html"), encoding="utf-8")
        base = [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", f"--user-data-dir={tmp}/profile", "--virtual-time-budget=20000",
            f"--window-size={max(width, _MIN_WINDOW)},2400",
        ]  # fmt: skip
        proc = subprocess.run(
            [*base, "--dump-dom", target.as_uri()], capture_output=True, text=True, timeout=180
        )
        if screenshot is not None:
            plain = Path(tmp) / "plain.html"
            plain.write_text(html, encoding="utf-8")
            shown = plain if target is page else plain_frame
            subprocess.run([*base, f"--screenshot={screenshot}", shown.as_uri()],
                           capture_output=True, text=True, timeout=180)  # fmt: skip
    m = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
    if not m or not m.group(1).strip():
        raise AssertionError(f"probe did not report; chromium stderr: {proc.stderr[-2000:]}")
    import html as _html

    result: dict[str, Any] = json.loads(_html.unescape(m.group(1)))
    if target is page:
        result["dom"] = proc.stdout
    else:
        d = re.search(r'<textarea id="dom">(.*?)</textarea>', proc.stdout, re.S)
        result["dom"] = _html.unescape(d.group(1)) if d else ""
    return result


def analysis_of(
    log: pl.DataFrame,
    design: Any = None,
    *,
    findings: pl.DataFrame | None = None,
    window: str | None = None,
    cls: type[Analysis] = Analysis,
) -> Analysis:
    """An Analysis of ``log``; ``findings`` replaces its computed findings (hostile text)."""
    analysis = cls.of(log, design, window=window)
    if findings is not None:
        analysis.findings = findings  # type: ignore[misc]  # a cached property: set it first
    return analysis


def visible_text(html: str) -> str:
    """The page's text as a person sees it (no script or style bodies, no tags)."""
    import html as _html

    text = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return _html.unescape(re.sub(r"<[^>]+>", " ", text))


def have_chromium() -> bool:
    """True when headless Chromium is installed where the browser tests look for it."""
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None
