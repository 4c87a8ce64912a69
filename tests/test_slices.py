"""Slice discovery on synthetic predictions, slice-by-slice comparison, and the benchmark report."""
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from export.slicing import SliceSearch, compare_slices, find_worst_slices, slice_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is a folder of the repository, not installed

N_EXAMPLES = 2000
BASE_ACCURACY = 0.95


def synthetic(seed=0):
    """Rows over three columns; accuracy BASE_ACCURACY except a planted slice (a=a2 & b=b1, ~100 examples,
    40% right) and a tiny slice (c=rare, 6 examples, all wrong)."""
    rng = np.random.default_rng(seed)
    rows = [{"a": f"a{rng.integers(5)}", "b": f"b{rng.integers(4)}", "c": "common"} for _ in range(N_EXAMPLES)]
    for r in rows[:6]:
        r["c"] = "rare"
    correct = rng.random(N_EXAMPLES) < BASE_ACCURACY
    planted = np.array([r["a"] == "a2" and r["b"] == "b1" for r in rows])
    correct[planted] = rng.random(planted.sum()) < 0.4
    correct[:6] = False
    return rows, correct, planted


def test_finds_the_planted_slice_and_ignores_one_below_min_support():
    rows, correct, planted = synthetic()
    found = find_worst_slices(correct, rows, ("a", "b", "c"), SliceSearch(max_columns=2, min_support=20, min_drop=0.05))
    assert found, "no slice found"
    top = found[0]
    assert dict(top["key"]) == {"a": "a2", "b": "b1"}
    assert top["support"] == planted.sum() and top["accuracy"] == pytest.approx(correct[planted].mean())
    assert top["drop"] > 0.3 and top["excess_errors"] > 20
    assert not any("rare" in s["slice"] for s in found), "a slice under min_support was reported"
    assert all(s["support"] >= 20 and s["drop"] >= 0.05 for s in found)
    names = [s["slice"] for s in found]
    assert len(names) == len(set(names))
    loose = find_worst_slices(correct, rows, ("c",), SliceSearch(max_columns=1, min_support=5))
    assert [s["slice"] for s in loose] == ["c=rare"], "with a lower min_support the tiny slice is found"


def test_two_column_slice_must_be_worse_than_both_parents():
    rows = [{"x": x, "y": y} for x in ("p", "q") for y in ("u", "v") for _ in range(50)]
    correct = np.array([r["x"] != "p" for r in rows])  # only x explains the errors
    found = find_worst_slices(correct, rows, ("x", "y"), SliceSearch(min_support=10))
    assert [s["slice"] for s in found] == ["x=p"], "x=p & y=u says nothing x=p does not"


def test_slice_table_counts_and_checks_lengths():
    rows, correct, _ = synthetic()
    table = slice_table(correct, rows, ("a",))
    assert sum(s["support"] for s in table) == N_EXAMPLES
    assert sum(s["errors"] for s in table) == int((~correct).sum())
    with pytest.raises(ValueError, match="correctness values"):
        slice_table(correct[:-1], rows, ("a",))
    with pytest.raises(ValueError, match="lack columns"):
        slice_table(correct, rows, ("missing",))


def test_compare_shows_where_the_second_model_loses():
    rows, correct, planted = synthetic()
    worse = correct.copy()
    worse[np.array([r["b"] == "b3" for r in rows])] = False
    table = compare_slices(correct, worse, rows, ("a", "b"), max_columns=1, min_support=10)
    assert table[0]["slice"] == "b=b3" and table[0]["delta"] < -0.9
    assert all(s["delta"] <= 0 for s in table)


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def fake_results(data_root):
    """Two gender 'models' with synthetic predictions on real EmoDB clips."""
    from export.gender import clip_row, emodb_clips

    clips = emodb_clips(data_root)[:120]
    rng = np.random.default_rng(1)
    results = {}
    for name, error in (("gender-small-int8", 0.3), ("gender-base-int8", 0.1)):
        rows = []
        for c in clips:
            r = clip_row(c)
            wrong = rng.random() < (error * 3 if r["emotion"] == "anger" else error)
            pred = r["gender"] if not wrong else ("male" if r["gender"] == "female" else "female")
            rows.append({k: r[k] for k in ("path", "gender", "speaker", "emotion", "text_id")}
                        | {"audio": str(c.path), "truth": r["gender"], "pred": pred})
        results[name] = {"task": "gender", "bytes": 20_000 if "small" in name else 90_000, "rows": rows}
    return results


def test_report_renders_with_images_and_audio(data_root, tmp_path):
    from benchmarks.slice_report import write_reports
    from benchmarks.slices import SEARCH, comparisons, summarize

    results = fake_results(data_root)
    summary = {"models": {n: summarize(n, r) for n, r in results.items()}, "comparisons": comparisons(results),
               "search": {"max_columns": SEARCH.max_columns, "min_support": SEARCH.min_support, "min_drop": SEARCH.min_drop}}
    assert summary["models"]["gender-base-int8"]["worst_slices"], "the planted anger errors should be found"
    paths = write_reports(tmp_path, summary, results, {}, max_audio=6)
    page = (tmp_path / "report.html").read_text()
    parser = Elements()
    parser.feed(page)
    audio = [a for t, a in parser.tags if t == "audio"]
    images = [a for t, a in parser.tags if t == "img"]
    assert 1 <= len(audio) <= 6 and all(a["src"].startswith("data:audio/flac;base64,") for a in audio)
    assert images and all(a["src"].startswith("data:image/png;base64,") for a in images)
    assert "gender-small-int8" in page and "emotion=anger" in page
    assert (tmp_path / "report.md").is_file() and all(p.exists() for p in paths)
