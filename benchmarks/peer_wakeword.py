"""The peers of our wake words, measured on the same real audio as ours (benchmarks/wakeword_data):
openWakeWord 0.5.1 (its `alexa` model), microWakeWord through pymicro-wakeword 2.5.0 (its shipped
`alexa` model) and pocketsphinx 5.1.1 keyphrase spotting (its shipped US English model, all four
dev wake words). Recall on the real recordings, false accepts per hour on the stream without any
wake word, CPU seconds per audio hour on one thread.

    .venv-peers/bin/python -m benchmarks.peer_wakeword --data ../shared/data --peers ../shared/peers \\
        --out benchmarks/results/wakeword

Runs in its own virtualenv (scripts/setup_peers.sh), never in .venv: the peers are for
benchmarking only (openWakeWord's models are licensed non-commercial). Writes OUT/peers.json
(read by benchmarks/wakeword.py) and OUT/peers.md; caches nothing.

Every peer is fed float audio chunk by chunk as from a microphone, converted to int16 inside the
timed loop. openWakeWord and microWakeWord give a score series, so one pass gives every threshold,
counted with the same event rule as ours (count_events, REFRACTORY_S). pocketsphinx has no score,
only detections at a fixed kws_threshold: see PocketsphinxSweep for how all thresholds are decoded
in one pass.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.wakeword_data import (KEYWORDS, PAD_S, REFRACTORY_S, SAMPLE_RATE, count_events, curve_point,  # noqa: E402
                                      distinct_weights, duplicate_groups, negative_stream, phrase_of, positive_clips,
                                      recall_at)

# One grid for both score-series peers: fine in the middle, finer still near 0 and 1 where the
# low-false-accept operating points of a confident model sit.
SERIES_THRESHOLDS = np.unique(np.round(np.concatenate([
    np.logspace(-4, -2, 9), np.linspace(0.01, 0.99, 99), 1 - np.logspace(-2, -4, 9)]), 6))
OWW_DIR = "openwakeword"  # under --peers
OWW_FILES = {"model": "alexa_v0.1.onnx", "melspec": "melspectrogram.onnx", "embedding": "embedding_model.onnx"}
OWW_CHUNK = 1280  # 80 ms: openWakeWord's own frame
OWW_DEFAULT = 0.5  # the threshold of openWakeWord's README and examples
MWW_CHUNK = 160  # 10 ms: one microWakeWord feature step
PS_CHUNK = 512  # 32 ms of audio per process_raw call
PS_DEFAULT = 1e-30  # pocketsphinx's own kws_threshold default
# kws_threshold sweep, as powers of ten: sparse where nothing changes, dense at the knee (the
# false accepts of all four phrases rise between 1e-25 and 1e-50 on this stream); "alexa" still
# fires about once an hour at 1e+20, hence the two stricter points.
PS_EXPONENTS = (40, 30, 20, 10, 0, -10, -15, -20, -22.5, -25, -27.5, -30, -32.5, -35, -37.5, -40, -42.5, -45, -47.5, -50,
                -55, -60)
# Words of our phrases that CMUdict (pocketsphinx's dictionary) lacks, in its ARPAbet phones.
PS_PRONUNCIATIONS = {"snowboy": "S N OW B OY"}  # = "snow" + "boy" as CMUdict spells them


def to_int16(x: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1) as 16-bit PCM; exact for audio read from 16-bit files."""
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def require(path: Path, what: str) -> Path:
    """The path, or a one-line error naming it."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: not found ({what})")
    return path


class OpenWakeWord:
    """openWakeWord 0.5.1 with its `alexa` model, ONNX runtime, one thread. Its feature models
    (melspectrogram, embedding) are taken from --peers, not from a download. Fed 80 ms chunks;
    the series is its per-chunk prediction."""

    name, keywords, default_threshold = "openWakeWord", ("alexa",), OWW_DEFAULT

    def __init__(self, peers: Path):
        folder = require(peers / OWW_DIR, "give --peers, the shared peers folder")
        self.files = {k: require(folder / f, "openWakeWord model") for k, f in OWW_FILES.items()}
        self.model = None

    def reset(self) -> None:
        """A fresh Model: 0.5.1's Model.reset() clears only the prediction buffer, not the audio,
        mel and embedding buffers, so a clip would otherwise start with the previous one's audio.
        Seeded, because the embedding buffer starts from random noise."""
        from openwakeword.model import Model

        np.random.seed(0)
        self.model = Model(wakeword_models=[str(self.files["model"])], inference_framework="onnx",
                           melspec_model_path=str(self.files["melspec"]),
                           embedding_model_path=str(self.files["embedding"]), ncpu=1)
        self.label = self.files["model"].stem

    def series(self, audio: np.ndarray, keyword: str):
        """(times in s, scores): one prediction per 80 ms chunk, timed at the chunk's end."""
        n = len(audio) // OWW_CHUNK
        times, scores = (np.arange(n) + 1) * OWW_CHUNK / SAMPLE_RATE, np.empty(n, np.float32)
        for i in range(n):
            scores[i] = self.model.predict(to_int16(audio[i * OWW_CHUNK:(i + 1) * OWW_CHUNK]))[self.label]
        return times, scores

    def describe(self, keyword: str) -> dict:
        import openwakeword

        shipped = Path(openwakeword.__file__).parent / "resources" / "models"
        same = all((shipped / p.name).is_file() and sha256(shipped / p.name) == sha256(p) for p in self.files.values())
        return {"versions": {"openwakeword": version("openwakeword"), "onnxruntime": version("onnxruntime")},
                "bytes": sum(p.stat().st_size for p in self.files.values()),
                "model_files": {p.name: sha256(p) for p in self.files.values()},
                "notes": [f"models from {self.files['model'].parent} (ONNX, 1 thread); they are "
                          + ("byte-identical to" if same else "NOT identical to") + " the copies inside the 0.5.1 wheel",
                          "fed 1280-sample (80 ms) int16 chunks; series = Model.predict() per chunk "
                          "(the package zeroes the first 5 predictions after construction)",
                          "state reset per clip by a fresh Model (0.5.1's reset() keeps the feature buffers)",
                          f"default threshold {OWW_DEFAULT} (README); no patience, no VAD, no noise suppression",
                          "model licence CC BY-NC-SA 4.0: benchmark only"]}


class MicroWakeWord:
    """microWakeWord through pymicro-wakeword 2.5.0 and the `alexa` model it ships. Fed 10 ms
    chunks; the series is MicroWakeWord.process_streaming_prob(), the sliding-window mean
    probability that its own yes/no decision compares with probability_cutoff."""

    name, keywords = "microWakeWord", ("alexa",)

    def __init__(self, peers: Path):
        from pymicro_wakeword import MicroWakeWord as Mww, MicroWakeWordFeatures, Model

        self.shipped = [m.value for m in Model]
        self.mww, self.features = Mww.from_builtin(Model.ALEXA), MicroWakeWordFeatures()
        self.default_threshold = float(self.mww.probability_cutoff)

    def reset(self) -> None:
        self.mww.reset()  # reloads the model: its streaming state lives in the interpreter
        self.features.reset()

    def series(self, audio: np.ndarray, keyword: str):
        """(times in s, probabilities): one per 10 ms feature step, timed at the audio fed so far;
        0.0 on the steps between the model's strided inferences, as the package returns them."""
        times, scores = [], []
        for start in range(0, len(audio) - MWW_CHUNK + 1, MWW_CHUNK):
            for feat in self.features.process_streaming(to_int16(audio[start:start + MWW_CHUNK]).tobytes()):
                scores.append(self.mww.process_streaming_prob(feat))
                times.append((start + MWW_CHUNK) / SAMPLE_RATE)
        return np.array(times), np.array(scores, np.float32)

    def describe(self, keyword: str) -> dict:
        model = Path(self.mww.tflite_model)
        return {"versions": {"pymicro-wakeword": version("pymicro-wakeword"),
                             "pymicro-features": version("pymicro-features")},
                "bytes": model.stat().st_size, "model_files": {model.name: sha256(model)},
                "shipped_models": self.shipped,
                "shipped_of_our_keywords": [k for k in KEYWORDS if k in self.shipped],
                "notes": [f"fed 160-sample (10 ms) int16 chunks; the model runs every {self.mww.stride} feature steps, "
                          f"its probability averaged over the last {self.mww.sliding_window_size} runs",
                          f"default = its probability_cutoff {self.default_threshold} (the package fires on prob > cutoff; "
                          "the curve uses >= like every other system)",
                          "state reset per clip (MicroWakeWord.reset() reloads the model, features.reset())",
                          "TFLite C library shipped in the wheel, one thread"]}


class PocketsphinxSweep:
    """pocketsphinx keyphrase spotting (shipped US English acoustic model and CMUdict), every
    threshold of PS_EXPONENTS in ONE decoder: each threshold gets its own copy of the phrase spelt
    with copied words ("alexa_3"), same phones. Keyphrases in its KWS search are independent HMM
    chains off a shared phone loop, identical copies score identically (so the beam's best score
    and pruning are those of one copy), and detections are merged only per phrase text: each copy
    fires exactly as a decoder holding that phrase alone would. The stream is one utterance, read
    out at the end (no restart after a detection, which would reset all copies). CPU is timed on a
    separate decoder holding the phrase once, at the default threshold, which also checks the
    sweep: its events must equal the default copy's."""

    name = "pocketsphinx"
    keywords = KEYWORDS
    default_threshold = PS_DEFAULT

    def __init__(self, peers: Path):
        self.thresholds = [10.0 ** e for e in PS_EXPONENTS]

    def decoder(self, phrase: str, thresholds: list):
        """(decoder spotting `phrase` at each threshold, {spelt phrase: threshold index},
        {word: phones}); one copy per threshold, the plain phrase if there is one threshold."""
        from pocketsphinx import Decoder

        dec = Decoder(lm=None, loglevel="ERROR")
        words = phrase.split()
        prons = {w: dec.lookup_word(w) or PS_PRONUNCIATIONS.get(w) for w in words}
        missing = [w for w, p in prons.items() if not p]
        if missing:
            raise ValueError(f"pocketsphinx: no pronunciation for {missing}: add it to PS_PRONUNCIATIONS")
        copies = [words] if len(thresholds) == 1 else [[f"{w}_{i}" for w in words] for i in range(len(thresholds))]
        for spelt in copies:
            for w, s in zip(words, spelt):
                if dec.lookup_word(s) is None:
                    dec.add_word(s, prons[w], True)
        with tempfile.NamedTemporaryFile("w", suffix=".kws", delete=False) as f:
            f.writelines(f"{' '.join(spelt)} /{th:g}/\n" for spelt, th in zip(copies, thresholds))
        try:
            dec.add_kws("sweep", f.name)
        finally:
            os.unlink(f.name)
        dec.activate_search("sweep")
        return dec, {" ".join(spelt): i for i, spelt in enumerate(copies)}, prons

    def detections(self, dec, index: dict, cmn0: str, audio: np.ndarray) -> list:
        """Per threshold, the sorted event times (s, end of the detected phrase) in `audio`,
        decoded as one utterance fed in PS_CHUNK int16 chunks."""
        dec.set_cmn(cmn0)
        dec.start_utt()
        for start in range(0, len(audio), PS_CHUNK):
            dec.process_raw(to_int16(audio[start:start + PS_CHUNK]).tobytes(), False, False)
        dec.end_utt()
        frate = dec.config["frate"]
        times = [[] for _ in index]
        for seg in dec.seg() or []:
            times[index[seg.word.strip()]].append(seg.end_frame / frate)
        return [np.sort(np.array(t, float)) for t in times]


def events(times: np.ndarray) -> int:
    """Events among detection times, with the refractory rule every system is counted with."""
    return count_events(times, np.ones(len(times)), 1.0, REFRACTORY_S)


def with_distinct(res: dict, clips: list, caught: np.ndarray, caught_default: np.ndarray) -> dict:
    """res with the curve counting every recording once, as benchmarks.wakeword's (each clip weighs
    1 / its take's copies; the sets hold takes saved up to 20 times): caught[clip, point] says
    whether the clip fired at the curve's point, caught_default[clip] at the default."""
    groups = duplicate_groups(clips)
    w = distinct_weights(clips, groups)
    curve = [{**p, "recall": round(float(caught[:, i] @ w), 4)} for i, p in enumerate(res["curve"])]
    default = {**res["default"], "recall": round(float(caught_default @ w), 4)}
    return {**res, "n_distinct_recordings": len(groups), "distinct": {"default": default, "curve": curve}}


def measure_series(peer, keyword: str, clips: list, stream: np.ndarray) -> dict:
    """A score-series peer on one wake word: every clip from a fresh state, then the stream
    (timed), then every threshold of the grid (and the peer's default) from those series."""
    pos = []
    for _, audio in clips:
        peer.reset()
        pos.append(peer.series(audio, keyword))
    peer.reset()
    cpu0 = time.process_time()
    times, scores = peer.series(stream, keyword)
    cpu = time.process_time() - cpu0
    hours = len(stream) / SAMPLE_RATE / 3600

    def caught(th) -> np.ndarray:  # [clip]: fired at least once at th
        return np.array([count_events(t, s, th, REFRACTORY_S) >= 1 for t, s in pos])

    def point(th, hits):
        return curve_point(th, np.mean(hits), count_events(times, scores, th, REFRACTORY_S), hours)

    grid, at_default = np.stack([caught(th) for th in SERIES_THRESHOLDS], axis=1), caught(peer.default_threshold)
    res = {"n_positives": len(clips), "stream_hours": round(hours, 4), "cpu_s_per_audio_hour": round(cpu / hours, 1),
           "default": point(peer.default_threshold, at_default),
           "curve": [point(th, grid[:, i]) for i, th in enumerate(SERIES_THRESHOLDS)], "stream_score_max": round(float(scores.max()), 4)}
    return with_distinct(res, clips, grid, at_default)


def measure_pocketsphinx(peer: PocketsphinxSweep, keyword: str, phrase: str, clips: list, stream: np.ndarray) -> dict:
    """pocketsphinx on one wake word: the threshold sweep over clips and stream, then the timed
    single-phrase decode of the stream at the default threshold."""
    dec, index, prons = peer.decoder(phrase, peer.thresholds)
    cmn0 = dec.get_cmn(False)
    caught = np.array([[events(t) >= 1 for t in peer.detections(dec, index, cmn0, audio)] for _, audio in clips])
    hits = caught.sum(0)
    fas = [events(t) for t in peer.detections(dec, index, cmn0, stream)]
    del dec
    single, one, _ = peer.decoder(phrase, [PS_DEFAULT])
    cmn1 = single.get_cmn(False)
    cpu0 = time.process_time()
    fa_default = events(peer.detections(single, one, cmn1, stream)[0])
    cpu = time.process_time() - cpu0
    hours = len(stream) / SAMPLE_RATE / 3600
    curve = [curve_point(th, h / len(clips), fa, hours) for th, h, fa in zip(peer.thresholds, hits, fas)]
    k = peer.thresholds.index(PS_DEFAULT)
    check = (f"check: a decoder holding the phrase once at the default {PS_DEFAULT:g} gave {fa_default} stream events, "
             f"its copy in the sweep {fas[k]} ({'equal' if fa_default == fas[k] else 'MISMATCH'}); CPU timed on that decoder")
    if fa_default != fas[k]:
        print(f"warning: pocketsphinx {keyword}: the single-phrase decode gave {fa_default} stream events, "
              f"its copy in the sweep {fas[k]}", file=sys.stderr)
    hmm = Path(single.config["hmm"])
    return {**with_distinct({"n_positives": len(clips), "stream_hours": round(hours, 4), "cpu_s_per_audio_hour": round(cpu / hours, 1),
                             "default": curve[k], "curve": curve}, clips, caught, caught[:, k]),
            "versions": {"pocketsphinx": version("pocketsphinx")},
            "bytes": sum(p.stat().st_size for p in hmm.iterdir() if p.is_file()),
            "pronunciations": prons,
            "notes": [f"keyphrase '{phrase}' with the shipped acoustic model {hmm.name} and CMUdict; pronunciations "
                      + ", ".join(f"{w.upper()} = {p}" + (" (added)" if w in PS_PRONUNCIATIONS else " (CMUdict)")
                                  for w, p in prons.items()),
                      f"kws_threshold swept over {len(peer.thresholds)} values (1e{PS_EXPONENTS[0]:g} .. "
                      f"1e{PS_EXPONENTS[-1]:g}) in one decoder with a copy of the phrase per threshold "
                      "(equivalent to one decode per threshold; see PocketsphinxSweep)",
                      check,
                      f"fed {PS_CHUNK}-sample int16 chunks; each clip one utterance from the initial cepstral mean, "
                      "the stream one utterance; event time = end frame of a detection",
                      "no score series: the curve's points are the swept thresholds only"]}


def run_peer(peer, root: Path, stream: np.ndarray, keywords: list) -> dict:
    """{keyword: results} for every wake word of `keywords` the peer covers, with its wall time."""
    out = {}
    for kw in [k for k in peer.keywords if k in keywords]:
        t0 = time.time()
        clips = positive_clips(root, kw)
        if isinstance(peer, PocketsphinxSweep):
            res = measure_pocketsphinx(peer, kw, phrase_of(root, kw), clips, stream)
        else:
            res = {**measure_series(peer, kw, clips, stream), **peer.describe(kw)}
        res["default"]["threshold"] = peer.default_threshold
        res["run_wall_s"] = round(time.time() - t0, 1)
        out[kw] = res
        print(f"{peer.name} {kw}: recall {res['default']['recall']:.3f} at {res['default']['fa_per_hour']} FA/h "
              f"(default {peer.default_threshold:g}), CPU {res['cpu_s_per_audio_hour']} s/h, {res['run_wall_s']} s",
              file=sys.stderr)
    return out


def report(res: dict) -> str:
    """peers.md: one row per peer and wake word."""
    def at(p):
        return "–" if p is None else f"{100 * p['recall']:.1f} % (t={p['threshold']:g}, {p['fa_per_hour']:.2f} FA/h)"

    lines = ["# Wake-word peers on real audio", "",
             f"Positives: the real recordings of each phrase (Picovoice crowd-sourced), {res['pad_s']:g} s of silence "
             f"either side; a clip is caught if the system fires at least once. False accepts: events per hour over "
             f"{res['stream_hours']:.2f} h of real audio without any wake word (dev Speech Commands, EmoDB, background "
             f"noise). Refractory {res['refractory_s']:g} s for every system. CPU: process time per audio hour over "
             "that stream, one thread, from float audio in.", "",
             "Recall @ ≤ x FA/h: the best point of the curve with at most x false accepts per hour "
             "(pocketsphinx: its swept kws_threshold values only).", "",
             "| peer | wake word | clips | recall @ default (FA/h) | recall @ ≤ 1 FA/h | recall @ ≤ 0.5 FA/h | CPU s / audio h |",
             "|---|---|---:|---|---|---|---:|"]
    for name, per_kw in res["peers"].items():
        for kw, r in per_kw.items():
            d = r["default"]
            lines.append(f"| {name} | {kw} | {r['n_positives']} | {100 * d['recall']:.1f} % ({d['fa_per_hour']:.2f}; "
                         f"t={d['threshold']:g}) | {at(recall_at(r['curve'], 1.0))} | {at(recall_at(r['curve'], 0.5))} | "
                         f"{r['cpu_s_per_audio_hour']} |")
    dup = [(name, kw, r) for name, per_kw in res["peers"].items() for kw, r in per_kw.items()
           if "distinct" in r and r["n_distinct_recordings"] < r["n_positives"]]
    if dup:  # the crowd-sourced sets hold takes saved again: benchmarks.wakeword's second count
        lines += ["", "Every recording counted once (each clip weighs 1 / its take's copies; the sets hold takes saved up to 20 times):", "",
                  "| peer | wake word | recordings (clips) | recall @ default | recall @ ≤ 1 FA/h | recall @ ≤ 0.5 FA/h |",
                  "|---|---|---:|---|---|---|"]
        for name, kw, r in dup:
            c = r["distinct"]["curve"]
            lines.append(f"| {name} | {kw} | {r['n_distinct_recordings']} ({r['n_positives']}) | "
                         f"{100 * r['distinct']['default']['recall']:.1f} % | {at(recall_at(c, 1.0))} | {at(recall_at(c, 0.5))} |")
    lines += ["", "Notes:"]
    for name, per_kw in res["peers"].items():
        entries = list(per_kw.values())
        common = [n for n in entries[0]["notes"] if all(n in r["notes"] for r in entries)]
        lines.append(f"- **{name}** ({', '.join(f'{k} {v}' for k, v in entries[0]['versions'].items())}): "
                     + "; ".join(common) + ".")
        for kw, r in per_kw.items():
            own = [n for n in r["notes"] if n not in common]
            if own and len(entries) > 1:
                lines.append(f"  - {kw}: " + "; ".join(own) + ".")
        if "shipped_models" in entries[0]:
            lines.append(f"  Ships {', '.join(entries[0]['shipped_models'])}; of our wake words: "
                         f"{', '.join(entries[0]['shipped_of_our_keywords']) or 'none'}.")
    lines.append("")
    return "\n".join(lines)


PEERS = {"openwakeword": OpenWakeWord, "microwakeword": MicroWakeWord, "pocketsphinx": PocketsphinxSweep}


def benchmark(data: str, peers: str, which: list, keywords: list) -> dict:
    root = require(Path(data).resolve(), "give --data, the shared data folder")
    peers_dir = require(Path(peers).resolve(), "give --peers, the shared peers folder")
    built = [PEERS[p](peers_dir) for p in which]  # every peer's files checked before the long runs
    stream = negative_stream(root)
    res = {"data": str(root), "pad_s": PAD_S, "refractory_s": REFRACTORY_S,
           "stream_hours": round(len(stream) / SAMPLE_RATE / 3600, 4),
           "cpu": platform.processor() or platform.machine(), "python": platform.python_version(), "peers": {}}
    for peer in built:
        res["peers"][peer.name] = run_peer(peer, root, stream, keywords)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.peer_wakeword", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../shared/data", help="the shared data folder (wakewords/, speech_commands/, ...)")
    ap.add_argument("--peers", default="../shared/peers", help="the shared peer models folder (openwakeword/)")
    ap.add_argument("--out", default="benchmarks/results/wakeword", help="folder for peers.json and peers.md")
    ap.add_argument("--only", default=",".join(PEERS), help="comma-separated subset of: %(default)s")
    ap.add_argument("--keywords", default=",".join(KEYWORDS), help="comma-separated subset of: %(default)s "
                    "(with --only: the results of the peers and wake words not run are kept from OUT/peers.json)")
    a = ap.parse_args(argv)
    which = [p for p in a.only.split(",") if p]
    unknown = [p for p in which if p not in PEERS]
    if unknown:
        ap.error(f"unknown peer(s) {unknown}; known: {list(PEERS)}")
    try:
        res = benchmark(a.data, a.peers, which, [k for k in a.keywords.split(",") if k])
    except (FileNotFoundError, ImportError, ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if (out / "peers.json").is_file():  # a partial run keeps the results it did not redo
        old = json.loads((out / "peers.json").read_text()).get("peers", {})
        res["peers"] = {**old, **{name: {**old.get(name, {}), **kws} for name, kws in res["peers"].items()}}
    (out / "peers.json").write_text(json.dumps(res, indent=1) + "\n")
    (out / "peers.md").write_text(report(res))
    print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
