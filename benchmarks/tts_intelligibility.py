"""How much like real speech of the phrase each TTS engine's training clips are, by a recognizer
trained on real speech: pocketsphinx (its shipped US English acoustic model) forced to choose
among 14 phrases (the four dev wake words, words like them, and others), on synthesized clips
of the four phrases and on real recordings of them. Two steps, as the engines and the peer live
in different virtualenvs:

    .venv/bin/python -m benchmarks.tts_intelligibility synthesize --out benchmarks/results/tts
    .venv-peers/bin/python -m benchmarks.tts_intelligibility decode --out benchmarks/results/tts

The clips are drawn as the wake-word trainer draws its voices (export/tts.py); they are written
to a temporary folder and not kept. Results: OUT/intelligibility.json and intelligibility.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

PHRASES = ("alexa", "smart mirror", "snowboy", "view glass")
CHOICES = PHRASES + ("elixir", "small mirror", "snowball", "few grass", "jarvis", "computer", "yes", "no", "hello", "seven")
CLIPS = "/tmp/edge-tts-intelligibility"  # synthesize writes here, decode reads here


def synthesize(out: Path, n_espeak: int, n_neural: int) -> None:
    import soundfile as sf

    from export.tts import engine_voices, espeak_draws, espeak_voices, hibari_voices, neural_voices, synthesize as say

    rng = np.random.default_rng(0)
    voices = espeak_draws(rng, n_espeak, espeak_voices()) + engine_voices((100,)) + neural_voices(rng, n_neural, n_neural)
    voices += hibari_voices(rng, n_neural)
    folder = Path(CLIPS)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, v in enumerate(voices):
        for phrase in PHRASES:
            path = folder / f"{i}_{phrase.replace(' ', '_')}.wav"
            sf.write(path, say(phrase, v), 16000)
            rows.append({"file": str(path), "phrase": phrase, "engine": v.engine, "voice": v.name})
    (folder / "clips.json").write_text(json.dumps(rows))
    print(f"wrote {len(rows)} clips to {folder}; now run the decode step with .venv-peers", file=sys.stderr)


def decode(out: Path, data: Path, real_per_phrase: int) -> None:
    import soundfile as sf
    from pocketsphinx import Decoder

    rows = json.loads((Path(CLIPS) / "clips.json").read_text())
    for phrase in PHRASES:
        folder = data / "wakewords" / phrase.replace(" ", "_")
        files = sorted(p for p in folder.glob("*.*") if p.suffix.lower() in (".flac", ".wav"))
        if not files:
            raise SystemExit(f"error: no real recordings in {folder}")
        rows += [{"file": str(p), "phrase": phrase, "engine": "real people", "voice": p.stem}
                 for p in files[::max(1, len(files) // real_per_phrase)][:real_per_phrase]]
    dec = Decoder(lm=None, loglevel="ERROR")
    dec.add_word("snowboy", "S N OW B OY", True)  # CMUdict lacks it: "snow" + "boy"
    with tempfile.NamedTemporaryFile("w", suffix=".gram", delete=False) as f:
        f.write("#JSGF V1.0;\ngrammar g;\npublic <p> = " + " | ".join(f"( {p} )" for p in CHOICES) + ";\n")
    dec.add_jsgf_file("choice", f.name)
    dec.activate_search("choice")
    pad = np.zeros(8000, np.float32)
    for r in rows:
        x, sr = sf.read(r["file"], dtype="float32")
        x = np.concatenate([pad, x if x.ndim == 1 else x.mean(1), pad])
        dec.start_utt()
        dec.process_raw(np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16).tobytes(), full_utt=True)
        dec.end_utt()
        r["heard"] = dec.hyp().hypstr if dec.hyp() else ""
    table = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r in rows:
        cell = table[r["engine"]][r["phrase"]]
        cell[0] += r["heard"] == r["phrase"]
        cell[1] += 1
    out.mkdir(parents=True, exist_ok=True)
    (out / "intelligibility.json").write_text(json.dumps({"choices": CHOICES, "clips": rows}, indent=1))
    lines = ["# Synthetic training clips heard by a real-speech recognizer", "",
             f"pocketsphinx (shipped US English model), forced choice among {len(CHOICES)} phrases: "
             f"{', '.join(CHOICES)}. Share of clips heard as the phrase said.", "",
             "| engine | " + " | ".join(PHRASES) + " | all |", "|---|" + "---:|" * (len(PHRASES) + 1)]
    for engine, cells in table.items():
        hit, n = sum(c[0] for c in cells.values()), sum(c[1] for c in cells.values())
        lines.append(f"| {engine} | " + " | ".join(f"{cells[p][0]}/{cells[p][1]}" for p in PHRASES) + f" | {100 * hit / n:.0f} % |")
    (out / "intelligibility.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.tts_intelligibility", description=__doc__.split("\n\n")[0])
    ap.add_argument("step", choices=("synthesize", "decode"))
    ap.add_argument("--out", default="benchmarks/results/tts")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--espeak", type=int, default=100, help="espeak-ng draws (default %(default)s)")
    ap.add_argument("--neural", type=int, default=10, help="Piper, Kokoro and hibari draws each (default %(default)s)")
    ap.add_argument("--real", type=int, default=40, help="real recordings per phrase (default %(default)s)")
    a = ap.parse_args(argv)
    if a.step == "synthesize":
        synthesize(Path(a.out), a.espeak, a.neural)
    else:
        decode(Path(a.out), Path(a.data), a.real)
    return 0


if __name__ == "__main__":
    sys.exit(main())
