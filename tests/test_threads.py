"""Two cores, one answer: figures computed on a second thread (Analysis.alongside) are the
figures one thread computes, each made once; the store serves two threads at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from wfmine.analysis import Analysis, figure
from wfmine.reports import build_report
from wfmine.reports.sections import READS
from wfmine.store import Store


class _Slow:
    """Figures that take a while, count their calls and depend on one another."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.fail = True

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    @figure
    def base(self) -> list[int]:
        self._count("base")
        time.sleep(0.05)  # long enough for the other thread to ask meanwhile
        return [1, 2, 3]

    @figure
    def derived(self) -> int:
        self._count("derived")
        return sum(self.base)

    @figure
    def flaky(self) -> int:
        self._count("flaky")
        if self.fail:
            raise ValueError("not yet")
        return 7


def test_a_figure_two_threads_ask_for_is_made_once() -> None:
    slow = _Slow()
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(slow.derived)) for _ in range(4)]
    threads += [threading.Thread(target=lambda: seen.append(slow.base)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert slow.calls == {"base": 1, "derived": 1}
    assert sorted(map(str, seen)) == ["6"] * 4 + ["[1, 2, 3]"] * 4
    assert all(x is slow.base for x in seen if isinstance(x, list))  # the one object kept
    assert "base" in vars(slow) and "derived" in vars(slow)  # kept where cached_property keeps


def test_a_figure_that_fails_is_not_kept_and_raises_where_it_is_read() -> None:
    slow = _Slow()
    a = Analysis.of(Store(":memory:"))
    # the second thread's failure is not swallowed for good: the reader computes it again
    with pytest.raises(ValueError, match="not yet"), a.alongside(lambda _: slow.flaky):
        time.sleep(0.01)
        _ = slow.flaky
    assert slow.calls["flaky"] == 2
    slow.fail = False
    assert slow.flaky == 7 and slow.calls["flaky"] == 3
    assert slow.flaky == 7 and slow.calls["flaky"] == 3  # kept once made


def test_the_class_reads_the_figure_itself() -> None:
    assert isinstance(vars(_Slow)["base"], figure)
    assert _Slow.base.__doc__ is None or isinstance(_Slow.base.__doc__, str)
    assert Analysis.findings.__doc__ and "finding" in Analysis.findings.__doc__


def test_the_store_serves_two_threads_at_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.put_result("numbers", pl.DataFrame({"n": list(range(1000))}))
    expected = store.sql("SELECT sum(n) AS s, count(*) AS c FROM result_numbers")
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(50):
                got = store.sql("SELECT sum(n) AS s, count(*) AS c FROM result_numbers")
                assert_frame_equal(got, expected)
                assert store.result("numbers") is not None
        except BaseException as exc:  # pragma: no cover - the failure this test looks for
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    assert errors == []


def test_figures_made_alongside_equal_those_made_one_by_one(
    sample_store: Path, sample_workspace: Path
) -> None:
    design = sample_workspace / "sample_logs" / "acme" / "design.yaml"
    with Store(sample_store, read_only=True) as store:
        one = Analysis.of(store, design)
        two = Analysis.of(store, design)
        figures = [f for reads in READS.values() for f in reads]
        with two.alongside(*figures):
            found = two.findings
        assert_frame_equal(found, one.findings)
        for compute in figures:
            left, right = compute(one), compute(two)
            if isinstance(left, pl.DataFrame):
                assert isinstance(right, pl.DataFrame)
                assert_frame_equal(left, right)
        assert two.overview.dfg.equals(one.overview.dfg)
        assert two.seams.equals(one.seams)
        # the report built beside its figures is the report built one figure at a time
        now = one.now
        first = build_report(one, now=now).html()
        second = build_report(two, now=now).html()
        fresh = build_report(Analysis.of(store, design, now=now), now=now).html()
        assert first == second == fresh
