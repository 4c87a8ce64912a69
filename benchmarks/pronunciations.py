"""How the real people said a wake word, against what a model missed.

Each real recording of the phrase is scored by pocketsphinx's keyphrase search (edge/verify.py's
KeyphraseScorer, its US English acoustic model trained on real speech) once per pronunciation
given, and takes the one that scores best. The clips are then counted by that pronunciation, in
quarters of how long the person took to say the phrase, and split by whether a benchmark result
missed them at its threshold (``missed_at_default_by_any`` of an ``ours*.json``). It tells, for
instance, whether the missed clips are said in a way the voices never say it.

    python -m benchmarks.pronunciations --keyword smart_mirror \\
        --results benchmarks/results/wakeword/pause_neg/ours_x2_gate0.05.json \\
        --out benchmarks/results/wakeword/pronunciations

needs pocketsphinx (the extra [verify]). A keyword without built-in pronunciations
(PRONUNCIATIONS) takes them from --variant NAME="PHONES|PHONES" (ARPAbet, one group a word).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .wakeword_data import phrase_of, positive_clips, quarters, speaking_seconds

# ARPAbet of each word of the phrase, one group a word: CMUdict's, and quick-speech forms of it
PRONUNCIATIONS = {
    "smart_mirror": {
        "as written (S M AA R T | M IH R ER)": "S M AA R T|M IH R ER",
        "no t (S M AA R | M IH R ER)": "S M AA R|M IH R ER",
        "mirr (S M AA R T | M IH R)": "S M AA R T|M IH R",
        "no t, mirr (S M AA R | M IH R)": "S M AA R|M IH R",
        "meer (S M AA R T | M IY R)": "S M AA R T|M IY R",
        "mirra (S M AA R T | M IH R AH)": "S M AA R T|M IH R AH",
    },
}


def best_pronunciations(clips: list, phrase: str, variants: dict) -> list:
    """For each (name, audio) clip, the variant whose keyphrase scores best (None if none is found)
    and every variant's score."""
    from edge.verify import KeyphraseScorer, VerifySpec

    words = phrase.split()
    scorers = {}
    for name, phones in variants.items():
        groups = phones.split("|")
        if len(groups) != len(words):
            raise ValueError(f"pronunciation {name!r}: {len(groups)} groups of phones for the {len(words)} words of {phrase!r}")
        scorers[name] = KeyphraseScorer(VerifySpec(label=phrase, phrase=phrase, pronunciations=dict(zip(words, groups))))
    out = []
    for _, audio in clips:
        scores = {name: s(audio) for name, s in scorers.items()}
        found = {k: v for k, v in scores.items() if v is not None}
        out.append((max(found, key=found.get) if found else None, scores))
    return out


def table(seconds: np.ndarray, missed: np.ndarray, best: list, variants: list) -> list:
    """Rows of clip counts by speaking-time quarter (the benchmark report's quarters), missed or
    caught, and best pronunciation."""
    edges, quarter = quarters(seconds)
    rows = []
    for q in range(4):
        for was_missed in (True, False):
            pick = (quarter == q) & (missed == was_missed)
            counts = {v: int(sum(1 for i in np.nonzero(pick)[0] if best[i] == v)) for v in variants}
            rows.append({"quarter": q + 1, "seconds": [round(float(edges[q]), 2), round(float(edges[q + 1]), 2)],
                         "missed": was_missed, "clips": int(pick.sum()), "best": counts})
    return rows


def report(keyword: str, results: str, rows: list, variants: list) -> str:
    lines = [f"# How the real people said {keyword}, against what was missed", "",
             f"Missed: at the threshold, by `{results}`. Each clip counted under the pronunciation pocketsphinx's "
             "keyphrase search scores best (`python -m benchmarks.pronunciations`).", "",
             "| speaking-time quarter | missed? | clips | " + " | ".join(variants) + " |",
             "|---|---|---:|" + "---:|" * len(variants)]
    for r in rows:
        lines.append(f"| {r['quarter']} ({r['seconds'][0]:.2f}–{r['seconds'][1]:.2f} s) | {'missed' if r['missed'] else 'caught'} | "
                     f"{r['clips']} | " + " | ".join(str(r['best'][v]) for v in variants) + " |")
    for was_missed in (True, False):
        rs = [r for r in rows if r["missed"] == was_missed]
        total = sum(r["clips"] for r in rs)
        lines.append(f"\nAll {'missed' if was_missed else 'caught'} clips ({total}): " + ", ".join(
            f"{v} {sum(r['best'][v] for r in rs)}" for v in variants) + ".")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.pronunciations", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--keyword", required=True)
    ap.add_argument("--results", required=True, help="a benchmark result (ours*.json) whose missed clips are counted apart")
    ap.add_argument("--variant", action="append", default=[], metavar='NAME="PHONES|PHONES"')
    ap.add_argument("--out", default="benchmarks/results/wakeword/pronunciations")
    a = ap.parse_args(argv)
    try:
        variants = dict(v.split("=", 1) for v in a.variant) if a.variant else PRONUNCIATIONS.get(a.keyword)
        if not variants:
            raise ValueError(f"no built-in pronunciations of {a.keyword!r}: give --variant NAME=\"PHONES|PHONES\"")
        result = json.loads(Path(a.results).read_text())
        if a.keyword not in result:
            raise ValueError(f"{a.results} has no results for {a.keyword!r}")
        missed_names = set(result[a.keyword]["missed_at_default_by_any"])
        root = Path(a.data)
        clips = positive_clips(root, a.keyword)
        phrase = phrase_of(root, a.keyword)
        best = best_pronunciations(clips, phrase, variants)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    names = [n for n, _ in clips]
    seconds = np.array([speaking_seconds(x) for _, x in clips])
    missed = np.array([n in missed_names for n in names])
    rows = table(seconds, missed, [b for b, _ in best], list(variants))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{a.keyword}.json").write_text(json.dumps({
        "keyword": a.keyword, "phrase": phrase, "results": a.results, "variants": variants, "table": rows,
        "clips": [{"name": n, "seconds": round(float(s), 3), "missed": bool(m), "best": b, "scores": sc}
                  for n, s, m, (b, sc) in zip(names, seconds, missed, best)]}, indent=1))
    text = report(a.keyword, a.results, rows, list(variants))
    (out / f"{a.keyword}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
