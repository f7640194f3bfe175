"""Process and stage maps (wfmine.maps): layout, simplification, readability, determinism."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from wfmine.design import load_design_text
from wfmine.discovery import directly_follows
from wfmine.errors import InputError
from wfmine.maps import process_map, stage_map
from wfmine.maps._text import text_px

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
START, END = "▶ start", "■ end"


def make_log(n_cases: int = 300, n_rare: int = 30, *, seed: int = 3) -> pl.DataFrame:
    """A main path of ten steps with rework, and ``n_rare`` rare detours (Zipf-like)."""
    rnd = random.Random(seed)
    main = [f"Step {i:02d} {'review and approve' if i == 4 else 'work'}" for i in range(10)]
    rare = [f"Rare detour number {i} with a long descriptive name" for i in range(n_rare)]
    rows: list[dict[str, Any]] = []
    for c in range(n_cases):
        trace: list[str] = []
        for i, step in enumerate(main):
            trace.append(step)
            if i == 6 and rnd.random() < 0.3:  # rework loop back to step 04
                trace += [main[4], main[5], main[6]]
            if rnd.random() < 0.08:
                trace += rnd.choices(rare, weights=[1 / (i + 1) for i in range(n_rare)])
        if rnd.random() < 0.1:
            trace = trace[:5]  # abandoned
        t = T0 + dt.timedelta(hours=c)
        for k, activity in enumerate(trace):
            t += dt.timedelta(minutes=rnd.randint(1, 600))
            rows.append({"case_id": f"c{c}", "activity": activity, "timestamp": t, "seq": k})
    return pl.DataFrame(rows)


def meta(fig: Any) -> dict[str, Any]:
    return dict(fig.layout.meta["wfmine"])


def overlap(a: list[float], b: list[float], pad: float = 0.0) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


@pytest.fixture(scope="module")
def big() -> pl.DataFrame:
    return make_log()


def test_small_maps_keep_everything_and_flow_top_to_bottom() -> None:
    log = make_log(n_cases=60, n_rare=3)
    fig = process_map(log)
    m = meta(fig)
    assert m["activities_shown"] == m["activities_total"] <= 13
    assert m["hidden_activities"] == []
    boxes = m["boxes"]
    assert boxes[START][3] < min(b[1] for k, b in boxes.items() if k != START)
    assert boxes[END][1] > max(b[3] for k, b in boxes.items() if k != END)
    # the main path reads downwards: each step's layer is below the previous one
    layers = m["layers"]
    steps = sorted(k for k in layers if k.startswith("Step"))
    assert [layers[s] for s in steps] == sorted(layers[s] for s in steps)
    assert len({layers[s] for s in steps}) == len(steps)


def test_large_maps_are_simplified_with_a_caption(big: pl.DataFrame) -> None:
    fig = process_map(big)
    m = meta(fig)
    assert m["activities_total"] == big["activity"].n_unique() > 25
    assert m["activities_shown"] <= 25
    assert m["activities_shown"] + len(m["hidden_activities"]) == m["activities_total"]
    counts = dict(big.group_by("activity").len().iter_rows())
    shown = [k for k in m["boxes"] if k not in (START, END)]
    assert sum(counts[a] for a in shown) >= 0.95 * big.height
    # the hidden ones are the rarest
    assert max(counts[a] for a in m["hidden_activities"]) <= min(counts[a] for a in shown)
    assert f"Showing {m['activities_shown']} of {m['activities_total']} activities" in m["caption"]
    assert "hidden: Rare detour" in m["caption"]
    non_loops = [e for e in m["edges"] if e[0] != e[1]]
    assert len(non_loops) <= max(20, 2 * m["activities_shown"])
    assert m["paths_shown"] == len(m["edges"]) < m["paths_total"]
    assert f"Showing {m['paths_shown']} of {m['paths_total']} paths" in m["caption"]


def test_every_kept_activity_stays_connected(big: pl.DataFrame) -> None:
    m = meta(process_map(big))
    edges = [(s, t) for s, t, _ in m["edges"] if s != t]
    for node in m["boxes"]:
        if node != START:
            assert any(t == node for _, t in edges), f"{node} has no way in"
        if node != END:
            assert any(s == node for s, _ in edges), f"{node} has no way out"
    reached, frontier = {START}, [START]
    while frontier:
        nxt = [t for s, t in edges if s in frontier and t not in reached]
        reached |= set(nxt)
        frontier = nxt
    assert reached == set(m["boxes"])


def test_coverage_parameters_override_the_defaults(big: pl.DataFrame) -> None:
    everything = meta(process_map(big, activities=1.0, paths=1.0))
    assert everything["activities_shown"] == everything["activities_total"]
    assert everything["paths_shown"] == everything["paths_total"]
    assert everything["hidden_activities"] == []
    fewer = meta(process_map(big, activities=0.5))
    assert fewer["activities_shown"] < meta(process_map(big))["activities_shown"]
    some = meta(process_map(big, activities=1.0, paths=0.5))
    assert some["paths_shown"] < everything["paths_shown"]
    for bad in (0, 0.0, 1.5, -1, True):
        with pytest.raises(InputError, match="share"):
            process_map(big, activities=bad)
    with pytest.raises(InputError, match="share"):
        process_map(big, paths=2)


def test_hidden_activities_are_skipped_over(big: pl.DataFrame) -> None:
    # a case x -> rare -> y shows as x -> y once the rare activity is hidden
    m = meta(process_map(big))
    shown = set(m["boxes"])
    assert all(s in shown and t in shown for s, t, _ in m["edges"])
    full = directly_follows(big)
    direct = full.filter(
        (pl.col("source") == "Step 06 work") & (pl.col("target") == "Step 07 work")
    )["frequency"].sum()
    drawn = {(s, t): n for s, t, n in meta(process_map(big, paths=1.0))["edges"]}
    assert drawn[("Step 06 work", "Step 07 work")] >= direct


def test_layout_is_deterministic(big: pl.DataFrame) -> None:
    first = process_map(big).to_json()
    assert process_map(big).to_json() == first
    shuffled = big.sample(fraction=1.0, shuffle=True, seed=11)
    assert process_map(shuffled).to_json() == first


def test_boxes_and_labels_do_not_overlap(big: pl.DataFrame) -> None:
    for fig in (process_map(big), process_map(big, activities=1.0, paths=1.0)):
        m = meta(fig)
        boxes = m["boxes"]
        for (a, ba), (b, bb) in itertools.combinations(boxes.items(), 2):
            assert not overlap(ba, bb, pad=10.0), (a, b)
        by_layer: dict[int, list[list[float]]] = {}
        for key, layer in m["layers"].items():
            by_layer.setdefault(layer, []).append(boxes[key])
        for row in by_layer.values():  # one layer: same band, left to right with gaps
            row.sort()
            assert all(a[2] + 20 <= b[0] for a, b in itertools.pairwise(row))
        # every label fits its box: the longest line, estimated generously, is inside
        for node in fig.layout.annotations:
            if node.xref != "x" or node.bgcolor:  # node labels only (edge labels have a background)
                continue
            box = next(
                b for b in boxes.values() if b[0] <= node.x <= b[2] and b[1] <= node.y <= b[3]
            )
            lines = str(node.text).split("<br>")
            widest = max(text_px(line, node.font.size) for line in lines)
            assert widest <= box[2] - box[0] - 8, node.text
        # edge labels overlap no box and no other edge label
        labels = []
        for a in fig.layout.annotations:
            if a.xref == "x" and a.bgcolor:
                w = text_px(str(a.text), a.font.size) + 6
                labels.append([a.x - w / 2, a.y - 7, a.x + w / 2, a.y + 7])
        for rect in labels:
            assert not any(overlap(rect, b) for b in boxes.values())
        for r1, r2 in itertools.combinations(labels, 2):
            assert not overlap(r1, r2)


def test_long_labels_wrap_and_the_figure_is_sized_in_pixels(big: pl.DataFrame) -> None:
    fig = process_map(big, activities=1.0)
    texts = [str(a.text) for a in fig.layout.annotations if a.xref == "x" and not a.bgcolor]
    assert any("<br>" in t for t in texts)  # "Rare detour number 1 with a long …" wraps
    assert all(len(t.split("<br>")) <= 3 for t in texts)
    width = fig.layout.width - fig.layout.margin.l - fig.layout.margin.r
    assert fig.layout.xaxis.range[1] - fig.layout.xaxis.range[0] == pytest.approx(width, abs=1)
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]  # y grows downwards


def test_rework_is_a_back_edge_entering_from_the_side() -> None:
    rows = []
    for c in range(20):
        trace = (
            ["open", "work", "review", "work", "review", "close"]
            if c % 2
            else ["open", "work", "review", "close"]
        )
        rows += [{"case_id": f"c{c}", "activity": a, "timestamp": T0 + dt.timedelta(hours=k), "seq": k}
                 for k, a in enumerate(trace)]  # fmt: skip
    fig = process_map(pl.DataFrame(rows))
    m = meta(fig)
    layers = m["layers"]
    assert layers["open"] < layers["work"] < layers["review"] < layers["close"]
    # the arrowhead of review -> work points sideways into the work box
    work = m["boxes"]["work"]
    heads = [s.path for s in fig.layout.shapes if s.fillcolor and s.path.count("L") == 2]
    side_x = {round(work[0], 1), round(work[2], 1)}
    tips = [tuple(float(v) for v in h[1:].split(" ")[0].split(",")) for h in heads]
    assert any(round(x, 1) in side_x and work[1] < y < work[3] for x, y in tips)


def test_wait_metric_labels_median_waits_with_a_colour_scale() -> None:
    log = make_log(n_cases=40, n_rare=2)
    fig = process_map(log, metric="wait")
    labels = {str(a.text) for a in fig.layout.annotations if a.bgcolor}
    assert any(t.endswith((" h", " min", " d")) for t in labels)
    assert any(getattr(t.marker, "showscale", False) for t in fig.data)
    assert "median wait" in meta(fig)["caption"]


def test_source_text_is_escaped() -> None:
    evil = "<b onmouseover=x>Evil</b> & co"
    log = pl.DataFrame({"case_id": ["a", "a"], "activity": ["start here", evil],
                        "timestamp": [T0, T0 + dt.timedelta(hours=1)]})  # fmt: skip
    fig = process_map(log)
    texts = [str(a.text) for a in fig.layout.annotations] + list(fig.data[1].hovertext)
    assert not any(evil in t for t in texts)
    assert any(
        "&lt;b onmouseover=x&gt;Evil&lt;/b&gt; &amp; co" in t.replace("<br>", " ") for t in texts
    )


def test_dfg_frame_and_empty_log() -> None:
    log = make_log(n_cases=30, n_rare=2)
    dfg = directly_follows(log)
    fig = process_map(dfg, start={"Step 00 work": 30}, end={"Step 09 work": 27})
    assert {START, END} <= set(meta(fig)["boxes"])
    empty = process_map(log.clear())
    assert meta(empty)["boxes"] == {}
    assert "No events" in meta(empty)["caption"]


# -- stage map --------------------------------------------------------------------------

DESIGN = """
name: Tiny
stages:
  - {id: triage, team: product, performer: human, expected: 1d, activities: ["jira:Issue created"]}
  - {id: build, team: engineering, activities: ["github:Commit*", "github:PR opened"]}
  - {id: review, team: engineering, activities: ["github:PR approved"]}
  - {id: ship, team: ops, activities: ["github:PR merged"]}
transitions: [[triage, build], [build, review], [review, build], [review, ship]]
"""


def stage_log() -> pl.DataFrame:
    traces = {
        "ok": ["jira:Issue created", "github:Commit pushed", "github:Commit pushed", "github:PR opened",
               "github:PR approved", "github:PR merged"],
        "skip": ["jira:Issue created", "github:Commit pushed", "github:PR merged"],
        "chat": ["slack:Message posted", "slack:Thread reply"],
        "late": ["github:Commit pushed", "slack:Message posted", "github:PR approved"],
    }  # fmt: skip
    rows = []
    for case, trace in traces.items():
        for k, item in enumerate(trace):
            source, activity = item.split(":", 1)
            rows.append({"case_id": case, "activity": activity, "source": source,
                         "timestamp": T0 + dt.timedelta(hours=k), "seq": k})  # fmt: skip
    return pl.DataFrame(rows)


def test_stage_map_collapses_visits_and_marks_disallowed_moves() -> None:
    design = load_design_text(DESIGN)
    fig = stage_map(stage_log(), design)
    m = meta(fig)
    edges = {(s, t): n for s, t, n in m["edges"]}
    # three commits and a PR in a row are one build visit; unmapped chat is left out
    assert edges[("triage", "build")] == 2
    assert edges[("build", "review")] == 2
    assert edges[("review", "ship")] == 1
    assert m["disallowed"] == [["build", "ship", 1]]
    assert m["cases"] == 3  # "chat" has no event in a stage
    assert edges[(START, "triage")] == 2 and edges[(START, "build")] == 1
    # boxes name the owning team; every stage is drawn, in design order top to bottom
    texts = " ".join(str(a.text) for a in fig.layout.annotations)
    assert "engineering" in texts and "product · human" in texts
    layers = m["layers"]
    assert layers["triage"] < layers["build"] < layers["review"] < layers["ship"]
    dashed = [s for s in fig.layout.shapes if s.line.dash == "dash" and s.line.color == "#d62728"]
    assert len(dashed) >= 2  # build -> ship, and the start in build
    assert stage_map(stage_log(), design).to_json() == fig.to_json()


def test_stage_map_draws_unvisited_stages_and_unused_transitions() -> None:
    design = load_design_text(DESIGN)
    log = stage_log().filter(pl.col("case_id") == "skip")
    fig = stage_map(log, design, metric="wait")
    m = meta(fig)
    assert set(m["boxes"]) == {START, END, "triage", "build", "review", "ship"}
    hover = " ".join(fig.data[1].hovertext)
    assert "no case moved so" in " ".join(fig.data[0].hovertext)
    assert "review" in hover


@pytest.mark.parametrize("name", ["08_receipt.xes.gz", "running-example.xes"])
def test_real_logs_stay_readable(realdata: Path, name: str) -> None:
    import wfmine
    from wfmine.formats import xes

    path = realdata / "logs" / name
    if not path.exists():
        pytest.skip(f"{path} is missing")
    store = wfmine.open()
    store.ingest(xes.load(path))
    fig = process_map(store.log())
    m = meta(fig)
    assert m["activities_shown"] <= 25
    assert len([e for e in m["edges"] if e[0] != e[1]]) <= max(20, 2 * m["activities_shown"])
    for a, b in itertools.combinations(m["boxes"].values(), 2):
        assert not overlap(a, b, pad=10.0)


def test_same_picture_whatever_the_hash_seed(tmp_path: Path) -> None:
    import os
    import subprocess

    make_log(n_cases=80, n_rare=8).write_parquet(tmp_path / "log.parquet")
    code = (
        "import hashlib, polars as pl; from wfmine.maps import process_map;"
        f"log = pl.read_parquet({str(tmp_path / 'log.parquet')!r});"
        "print(hashlib.sha1(process_map(log, metric='wait').to_json().encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1


def test_missing_columns_say_which() -> None:
    with pytest.raises(InputError, match="'case_id'"):
        process_map(pl.DataFrame({"activity": ["a"], "timestamp": [T0]}))


def _plotly_json(fig: Any) -> str:
    import json

    import plotly.io as pio

    spec = json.loads(pio.to_json(fig, validate=False))
    spec["layout"].pop("template", None)
    return json.dumps(spec)


def test_as_dict_is_the_plotly_figure_key_for_key(big: pl.DataFrame) -> None:
    """``as_dict=True`` (what the report embeds) serialises as the plotly figure does."""
    import json

    design = load_design_text(DESIGN)
    dfg = directly_follows(big)
    drawn = [
        lambda **k: process_map(big, **k),
        lambda **k: process_map(big, metric="wait", **k),
        lambda **k: process_map(big, activities=1.0, paths=1.0, **k),
        lambda **k: process_map(dfg, start={"Step 00 work": 300}, **k),
        lambda **k: process_map(big.clear(), **k),
        lambda **k: stage_map(stage_log(), design, **k),
        lambda **k: stage_map(stage_log(), design, metric="wait", **k),
    ]
    for draw in drawn:
        assert json.dumps(draw(as_dict=True)) == _plotly_json(draw())


def test_figure_dict_orders_keys_as_plotly() -> None:
    import plotly.graph_objects as go

    from wfmine.maps._render import figure_dict

    bar = {"type": "bar", "x": [1.5, 2.5], "y": [3, 4], "marker": {"color": "#0d6e6e"},
           "hovertemplate": "%{y}<extra></extra>"}  # fmt: skip
    line = {"x": ["2024-01-01"], "y": [None], "name": "median", "mode": "lines+markers"}
    layout = {"title": {"text": "t"}, "xaxis": {"title": {"text": "days"}},
              "yaxis": {"title": {"text": "cases"}, "rangemode": "tozero", "dtick": 1},
              "legend": {"orientation": "h", "y": -0.2}, "showlegend": False, "bargap": 0.05}  # fmt: skip
    fig = go.Figure(
        data=[go.Bar(**{k: v for k, v in bar.items() if k != "type"}), go.Scatter(line)]
    )
    fig.update_layout(**layout)
    import json

    assert json.dumps(figure_dict([bar, line], layout)) == _plotly_json(fig)
