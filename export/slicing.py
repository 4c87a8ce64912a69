"""Accuracy per slice of the data, the slices where a model does worst, and where one model
loses to another. Pure functions of per-example correctness and metadata rows.

A slice is a set of examples that agree on the values of one or more metadata columns
("emotion=anger", "gender=female & emotion=anger"). Like sliceguard, the search looks at every
combination of up to `max_columns` columns and keeps the slices that are large enough and
clearly worse than the whole set; a two-column slice is kept only when it is also min_drop worse
than each of its one-column parents, so it says something they do not.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np


@dataclass(frozen=True)
class SliceSearch:
    """max_columns: columns combined in one slice (1 or 2). min_support: examples a slice needs.
    min_drop: accuracy below the overall accuracy a slice needs to count (0.05 = 5 points).
    top: most slices returned."""

    max_columns: int = 2
    min_support: int = 10
    min_drop: float = 0.05
    top: int = 10

    def __post_init__(self):
        if self.max_columns not in (1, 2):
            raise ValueError(f"max_columns must be 1 or 2, got {self.max_columns}")
        if self.min_support < 1 or not 0.0 <= self.min_drop <= 1.0 or self.top < 1:
            raise ValueError("min_support and top must be >= 1, min_drop in [0, 1]")


def slice_name(key: tuple) -> str:
    """(("gender", "female"), ("emotion", "anger")) -> "gender=female & emotion=anger"."""
    return " & ".join(f"{c}={v}" for c, v in key)


def _columns(rows: list, columns) -> dict:
    missing = [c for c in columns if any(c not in r for r in rows)]
    if missing:
        raise ValueError(f"metadata rows lack columns {missing}")
    return {c: np.array([str(r[c]) for r in rows]) for c in columns}


def _slices(correct: np.ndarray, rows: list, columns, max_columns: int):
    """(key, mask) of every slice over combinations of up to max_columns columns, in column order."""
    if len(correct) != len(rows):
        raise ValueError(f"got {len(correct)} correctness values for {len(rows)} metadata rows")
    values = _columns(rows, columns)
    for k in range(1, max_columns + 1):
        for cols in combinations(columns, k):
            keys = [tuple(t) for t in zip(*(values[c].tolist() for c in cols))]
            index = {}
            for i, key in enumerate(keys):
                index.setdefault(key, []).append(i)
            for vals in sorted(index):
                mask = np.zeros(len(rows), bool)
                mask[index[vals]] = True
                yield tuple(zip(cols, vals)), mask


def slice_table(correct, rows: list, columns, max_columns: int = 1) -> list:
    """Every slice over combinations of up to max_columns columns:
    [{"slice": name, "key": ((column, value), ...), "accuracy", "support", "errors"}], in column order."""
    correct = np.asarray(correct, bool)
    return [{"slice": slice_name(key), "key": key, "accuracy": float(correct[m].mean()), "support": int(m.sum()),
             "errors": int((~correct[m]).sum())} for key, m in _slices(correct, rows, columns, max_columns)]


def find_worst_slices(correct, rows: list, columns, search: SliceSearch = SliceSearch()) -> list:
    """The slices at least search.min_drop below overall accuracy with at least min_support examples,
    worst first: [{"slice", "key", "accuracy", "support", "errors", "drop", "excess_errors"}].
    excess_errors: errors beyond what the overall error rate predicts for a slice that size; the
    ranking, so a large slice a little worse comes before a tiny one much worse."""
    correct = np.asarray(correct, bool)
    overall = float(correct.mean()) if len(correct) else 0.0
    single, found, seen = {}, [], set()
    for key, mask in _slices(correct, rows, columns, search.max_columns):
        acc, support = float(correct[mask].mean()), int(mask.sum())
        if len(key) == 1:
            single[key] = acc
        drop = overall - acc
        if support < search.min_support or drop < search.min_drop:
            continue
        if len(key) > 1 and not all(acc <= single[(part,)] - search.min_drop for part in key):
            continue  # not clearly worse than one of its parents: the parent already says it
        members = np.packbits(mask).tobytes()
        if members in seen:
            continue  # the same examples as a simpler slice already found (e.g. one speaker = one gender here)
        seen.add(members)
        errors = int((~correct[mask]).sum())
        found.append({"slice": slice_name(key), "key": key, "accuracy": acc, "support": support, "errors": errors,
                      "drop": round(drop, 4), "excess_errors": round(errors - (1 - overall) * support, 1)})
    found.sort(key=lambda s: (-s["excess_errors"], -s["drop"], s["slice"]))
    return found[:search.top]


def compare_slices(correct_a, correct_b, rows: list, columns, max_columns: int = 1, min_support: int = 10) -> list:
    """Slice by slice, model b against model a on the same examples, where b loses most first:
    [{"slice", "support", "accuracy_a", "accuracy_b", "delta"}] with delta = accuracy_b - accuracy_a."""
    a = {s["key"]: s for s in slice_table(correct_a, rows, columns, max_columns)}
    b = slice_table(correct_b, rows, columns, max_columns)
    out = [{"slice": s["slice"], "support": s["support"], "accuracy_a": round(a[s["key"]]["accuracy"], 4),
            "accuracy_b": round(s["accuracy"], 4), "delta": round(s["accuracy"] - a[s["key"]]["accuracy"], 4)}
           for s in b if s["support"] >= min_support]
    out.sort(key=lambda s: (s["delta"], -s["support"], s["slice"]))
    return out
