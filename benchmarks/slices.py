"""Where do our models fail? Accuracy per slice of the data for several gender-model variants
(evaluated speaker-independently over the same speaker folds) and for the shipped commands
model (on its held-out speakers, clean and mixed with each real noise at several SNRs); the
worst slices found automatically; slice-by-slice comparisons; plots; one self-contained report.

    python -m benchmarks.slices --out benchmarks/results/slices [--data ../shared/data]

Trained fold models are cached under OUT/cache/<recipe>/fold<k>/ (delete them to retrain), so
a second run only evaluates. Writes OUT/slices.json, OUT/report.md, OUT/report.html, OUT/*.png.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from export.data import DataError, data_root, fold_of, load_clips, noise_bank, speech_commands
from export.gender import GenderConfig, cross_validate
from export.slicing import SliceSearch, compare_slices, find_worst_slices, slice_table

GENDER_VARIANTS = {  # name -> recipe; every one cross-validated over the same speaker folds
    "gender-small": GenderConfig(channels=(8, 12, 16, 24)),
    "gender-base": GenderConfig(),  # the recipe of the shipped edge/models/gender.onnx
    "gender-large": GenderConfig(channels=(20, 30, 40, 60)),
    "gender-base-tts": GenderConfig(tts_voices=40),  # plus synthetic voices (espeak-ng, flite): does TTS help?
}
GENDER_COLUMNS = ("gender", "speaker", "emotion", "text_id")  # searched for worst slices
COMMANDS_COLUMNS = ("keyword", "speaker", "noise", "snr")
REPORTED_PAIRS = {"gender": (("gender", "emotion"),), "commands": (("noise", "snr"),)}  # tabled besides single columns
SNRS_DB = (0, 10, 20)  # each background noise file is mixed in at these SNRs
CLEAN = ("none", "clean")  # noise and snr values of the unmixed clips
SEARCH = SliceSearch(max_columns=2, min_support=10, min_drop=0.05, top=10)
COMPARISONS = (  # (a, b): where does b lose against a
    ("gender-base-int8", "gender-small-int8"),
    ("gender-base-fp32", "gender-base-int8"),
    ("gender-base-int8", "gender-base-tts-int8"),
    ("gender-base-int8", "gender-large-int8"),
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def gender_results(root: Path, cache: Path) -> dict:
    """name -> {"task", "bytes", "rows"} for the fp32 and INT8 model of every gender variant."""
    out = {}
    for name, cfg in GENDER_VARIANTS.items():
        log(f"{name}: cross-validating over speaker folds (cache {cache / cfg.key()})")
        cv = cross_validate(cfg, root, cache, log)
        for kind in ("fp32", "int8"):
            rows = [{k: r[k] for k in ("path", *GENDER_COLUMNS)} | {
                        "audio": str(root / "emodb" / r["path"]), "truth": r["gender"],
                        "pred": "male" if r[f"p_male_{kind}"] >= 0.5 else "female",
                        "score": round(max(r[f"p_male_{kind}"], 1 - r[f"p_male_{kind}"]), 4)} for r in cv["clips"]]
            out[f"{name}-{kind}"] = {"task": "gender", "bytes": cv["figures"]["bytes"][kind], "channels": list(cfg.channels),
                                     "tts_voices": cfg.tts_voices, "rows": rows}
            log(f"{name}-{kind}: {cv['figures']['bytes'][kind]:,} bytes, speaker-independent accuracy {cv['figures'][kind]['accuracy']:.4f}")
    return out


def mix(clean: np.ndarray, noise: np.ndarray, snr_db: float, seed: tuple) -> np.ndarray:
    """clean with a noise segment (picked by seed) at snr_db; the same seed gives the same mix."""
    from export.augment import add_noise, noise_segment

    rng = np.random.default_rng(list(seed))
    return np.clip(add_noise(clean, noise_segment(noise, len(clean), rng), snr_db), -1, 1).astype(np.float32)


def commands_audio(row: dict, noises: dict) -> np.ndarray:
    """The audio a commands row was scored on (its clip, mixed again as it was)."""
    from edge.audio import load_audio
    from export.data import fit_length

    x = fit_length(load_audio(row["audio"]), 16_000)
    return x if row["noise"] == CLEAN[0] else mix(x, noises[row["noise"]], row["snr_db"], tuple(row["seed"]))


def commands_results(root: Path) -> dict:
    """The shipped commands model on its held-out speakers, clean and in every noise at every SNR."""
    from edge.model import Model, resolve
    from export.evaluate import window_scores

    record = json.loads(resolve("commands").with_suffix(".json").read_text())
    tc = record["train_config"]
    clips = [c for c in speech_commands(root) if fold_of(c.group, tc["n_folds"]) == tc["holdout_fold"]]
    model, clean, noises = Model("commands"), load_clips(clips), noise_bank(root)
    conditions = [(*CLEAN, None)] + [(name, f"{snr} dB", snr) for name in noises for snr in SNRS_DB]
    rows = []
    for k, (noise, snr, snr_db) in enumerate(conditions):
        seeds = [(i, k) for i in range(len(clips))]
        audio = clean if snr_db is None else np.stack([mix(x, noises[noise], snr_db, s) for x, s in zip(clean, seeds)])
        pred = window_scores(model, audio).argmax(1)
        rows += [{"path": c.path.name, "keyword": c.label, "speaker": c.speaker or "(none)", "noise": noise, "snr": snr,
                  "snr_db": snr_db, "seed": list(s), "audio": str(c.path), "truth": c.label, "pred": model.labels[p]}
                 for c, p, s in zip(clips, pred, seeds)]
        log(f"commands: {noise} {snr}: accuracy {np.mean([r['truth'] == r['pred'] for r in rows[-len(clips):]]):.4f}")
    held = f"fold_of(group, {tc['n_folds']}) == {tc['holdout_fold']}"
    return {"commands-int8": {"task": "commands", "bytes": resolve("commands").stat().st_size, "held_out": held, "rows": rows}}


def correct_of(rows: list) -> np.ndarray:
    return np.array([r["truth"] == r["pred"] for r in rows])


def summarize(name: str, res: dict) -> dict:
    """What slices.json keeps of one model: size, overall, every reported slice, the worst slices."""
    rows, correct = res["rows"], correct_of(res["rows"])
    columns = GENDER_COLUMNS if res["task"] == "gender" else COMMANDS_COLUMNS
    slices = {}
    for s in slice_table(correct, rows, columns):
        slices.setdefault(s["key"][0][0], {})[s["key"][0][1]] = {"accuracy": round(s["accuracy"], 4), "support": s["support"]}
    for pair in REPORTED_PAIRS[res["task"]]:
        table = [s for s in slice_table(correct, rows, pair, 2) if len(s["key"]) == 2]
        slices[" & ".join(pair)] = {"/".join(v for _, v in s["key"]): {"accuracy": round(s["accuracy"], 4), "support": s["support"]}
                                    for s in table}
    worst = [{**{k: (round(v, 4) if isinstance(v, float) else v) for k, v in s.items()}, "key": [list(p) for p in s["key"]]}
             for s in find_worst_slices(correct, rows, columns, SEARCH)]
    meta = {k: v for k, v in res.items() if k not in ("rows",)}
    return {**meta, "accuracy": round(float(correct.mean()), 4), "n": len(rows), "slices": slices, "worst_slices": worst}


def comparisons(results: dict) -> list:
    out = []
    for a, b in COMPARISONS:
        if a not in results or b not in results:
            continue
        rows = results[a]["rows"]
        if [r["path"] for r in rows] != [r["path"] for r in results[b]["rows"]]:
            raise ValueError(f"{a} and {b} were not scored on the same clips")
        table = compare_slices(correct_of(rows), correct_of(results[b]["rows"]), rows, GENDER_COLUMNS, 2, SEARCH.min_support)
        out.append({"a": a, "b": b, "bytes_a": results[a]["bytes"], "bytes_b": results[b]["bytes"],
                    "accuracy_a": round(float(correct_of(rows).mean()), 4),
                    "accuracy_b": round(float(correct_of(results[b]["rows"]).mean()), 4),
                    "b_loses": [s for s in table if s["delta"] < 0], "b_gains": [s for s in table if s["delta"] > 0][::-1]})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.slices", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, metavar="DIR", help="output folder (fold models are cached in DIR/cache)")
    ap.add_argument("--data", metavar="DIR", help="data root (default: $EDGE_DATA or ../shared/data)")
    ap.add_argument("--max-audio", type=int, default=20, help="misclassified clips playable in the report (default %(default)s)")
    a = ap.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)
        root, out = data_root(a.data), Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        results = {**gender_results(root, out / "cache"), **commands_results(root)}
        summary = {"models": {name: summarize(name, res) for name, res in results.items()}, "comparisons": comparisons(results),
                   "search": {"max_columns": SEARCH.max_columns, "min_support": SEARCH.min_support, "min_drop": SEARCH.min_drop},
                   "gender_evaluation": "speaker-independent: folds of one female + one male EmoDB speaker; "
                                        "clip = mean of 1-s window probabilities", "seconds": round(time.time() - t0, 1)}
        (out / "slices.json").write_text(json.dumps(summary, indent=1) + "\n")
        log(f"wrote {out / 'slices.json'}")
        from .slice_report import write_reports

        for path in write_reports(out, summary, results, noise_bank(root), a.max_audio):
            log(f"wrote {path} ({path.stat().st_size:,} bytes)")
    except (DataError, ValueError, OSError) as e:
        print(f"benchmarks.slices: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
