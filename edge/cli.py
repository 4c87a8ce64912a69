"""``edge``: classify clips, stream a file or stdin, listen to a microphone.

Expected errors print one line on stderr and exit with EXIT_BAD_INPUT; no tracebacks.
"""
from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path

from .audio import SAMPLE_RATE, AudioError
from .model import ModelError, shipped_models
from .pipeline import StreamConfig

EXIT_BAD_INPUT = 2
DEMO_RECORDING = "commands_demo.flac"  # real Speech Commands speech, see edge/samples/README.md


def _stream_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", action="append", metavar="MODEL",
                   help="shipped model name (default commands) or path to an .onnx file; give it again to run several "
                        "models at once (e.g. --model alexa --model commands), each event then naming its model; "
                        "the options below apply to every model")
    p.add_argument("--json", action="store_true", help="one JSON object per event")
    p.add_argument("--save-events", metavar="DIR",
                   help="write the audio of each event (its window and the second before) to a WAV file in DIR, made if "
                        "missing, never over a file that is there; the event then names its file. Keep the false accepts "
                        "and train them away: edge-export wakeword PHRASE --negatives DIR")
    p.add_argument("--hop-ms", type=int, help="model runs every this many ms (default: the model's own, 100 unless it says)")
    p.add_argument("--idle-stride", type=int, metavar="N",
                   help="while the model hears nothing near an event, it runs only every N-th hop, the hops between keeping "
                        "its last scores (default: the model's own, 2 for a wake word from edge-export; 1 = every hop; "
                        "'nothing near' is a score under the model's idle level, 0.05 where it has none)")
    p.add_argument("--no-warps", action="store_true",
                   help="a wake word whose model asks for test-time warps (edge-export's, by default): score the window alone, "
                        "for about a fifth less CPU (its threshold was chosen with them on: without them it lets more false accepts through)")
    p.add_argument("--no-vad", action="store_true", help="score every hop, not only in speech")
    p.add_argument("--vad-mode", type=int, default=2, choices=range(4), help="webrtcvad aggressiveness 0-3 (default %(default)s)")
    p.add_argument("--vad-frame-ms", type=int, default=20, choices=(10, 20, 30), help="VAD frame (default %(default)s)")
    p.add_argument("--hangover-ms", type=int, default=300, help="gate stays open this long after speech (default %(default)s)")
    p.add_argument("--threshold", type=float, help="score an event needs (default: the model's own; a verified wake word's: its candidates')")
    p.add_argument("--smoothing", type=int, help="hops averaged before the threshold (default: the model's own)")
    p.add_argument("--refractory", type=float, help="seconds after an event with no other (default: the model's own)")
    p.add_argument("--no-verify", action="store_true",
                   help="a wake word whose model asks for pocketsphinx's second opinion: the model's score alone, at its own threshold")


def _config(a) -> StreamConfig:
    return StreamConfig(hop_ms=a.hop_ms, vad=not a.no_vad, vad_mode=a.vad_mode, vad_frame_ms=a.vad_frame_ms,
                        hangover_ms=a.hangover_ms, threshold=a.threshold, smoothing=a.smoothing, refractory_s=a.refractory,
                        verify=not a.no_verify, idle_stride=a.idle_stride, warps=not a.no_warps)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="edge", description="Real-time audio classification on the device.")
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("classify", help="classify whole clips, one result per file")
    c.add_argument("files", nargs="+", metavar="FILE")
    c.add_argument("--model", default="commands", help="shipped model name (%(default)s) or path to an .onnx file")
    c.add_argument("--top-k", type=int, default=3, help="labels per file (default %(default)s)")
    c.add_argument("--json", action="store_true", help="one JSON object per file")
    s = sub.add_parser("stream", help="run the streaming pipeline over a file, or raw s16le PCM on stdin (-)")
    s.add_argument("source", metavar="FILE|-")
    s.add_argument("--rate", type=int, default=SAMPLE_RATE, help="sample rate of PCM on stdin (default %(default)s)")
    _stream_options(s)
    m = sub.add_parser("listen", help="events from a microphone until Ctrl-C")
    m.add_argument("--device", help="input device index or name (see: edge devices)")
    m.add_argument("--seconds", type=float, help="stop after this much audio")
    _stream_options(m)
    d = sub.add_parser("demo", help="listen to the microphone, or with none, stream a bundled real recording")
    _stream_options(d)
    sub.add_parser("devices", help="list input devices")
    sub.add_parser("models", help="list shipped models")
    return ap


def _models(a) -> list:
    return a.model or ["commands"]


def _recorder(a):
    """The event recorder of --save-events, or None."""
    if not a.save_events:
        return None
    from .saving import EventRecorder

    return EventRecorder(a.save_events)


def _print_event(e, as_json: bool, recorder=None) -> None:
    saved = recorder.save(e) if recorder is not None else None
    if as_json:
        print(json.dumps({**e.to_dict(), **({"audio": str(saved)} if saved else {})}), flush=True)
    else:
        model = f"{e.model:12s} " if e.model else ""
        print(f"{e.start:8.2f}s - {e.end:8.2f}s  {model}{e.type:9s} {e.label:12s} {e.score:.3f}"
              + (f"  {saved}" if saved else ""), flush=True)


def cmd_classify(a) -> int:
    from .api import classify, load_model

    if a.top_k < 1:
        raise ValueError(f"--top-k must be >= 1, got {a.top_k}")
    model = load_model(a.model)
    failed = 0
    for f in a.files:
        try:
            preds = classify(f, model, a.top_k)
        except (AudioError, OSError) as e:
            print(f"edge: error: {e}", file=sys.stderr)
            failed += 1
            continue
        if a.json:
            print(json.dumps({"file": f, "predictions": preds}), flush=True)
        else:
            print(f"{f}: " + ", ".join(f"{p['label']} ({p['score']:.3f})" for p in preds), flush=True)
    return EXIT_BAD_INPUT if failed else 0


def cmd_stream(a) -> int:
    from .api import stream_file

    if a.source != "-" and not Path(a.source).is_file():
        raise AudioError(f"{a.source}: no such file")
    recorder = _recorder(a)
    for e in stream_file(a.source, _models(a), _config(a), a.rate, recorder):
        _print_event(e, a.json, recorder)
    return 0


def cmd_listen(a, device=None, seconds=None) -> int:
    from .api import listen

    mic, recorder = {}, _recorder(a)
    def started(m):
        mic["m"] = m
        print(f"listening on {m.name} at {m.rate} Hz (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        for e in listen(_models(a), device, _config(a), seconds, on_start=started, recorder=recorder):
            _print_event(e, a.json, recorder)
    except KeyboardInterrupt:
        pass
    if mic and mic["m"].overflows:
        print(f"edge: {mic['m'].overflows} input overflows (audio was dropped)", file=sys.stderr)
    return 0


def _device(arg):
    return int(arg) if arg is not None and arg.isdigit() else arg


def cmd_demo(a) -> int:
    from .sources import list_devices

    try:
        has_mic = bool(list_devices())
    except OSError:  # no PortAudio library, or no audio system at all
        has_mic = False
    if has_mic:
        return cmd_listen(a)
    path = resources.files("edge") / "samples" / DEMO_RECORDING
    print(f"no microphone found: streaming the bundled recording {DEMO_RECORDING} "
          "(say 'edge listen' on a machine with a microphone)", file=sys.stderr)
    a.source, a.rate = str(path), SAMPLE_RATE
    return cmd_stream(a)


def cmd_devices(a) -> int:
    from .sources import list_devices

    for i, name, ch, rate in list_devices():
        print(f"{i:3d}  {name}  ({ch} ch, {rate} Hz)")
    return 0


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    handlers = {"classify": cmd_classify, "stream": cmd_stream, "demo": cmd_demo, "devices": cmd_devices,
                "models": lambda _: print("\n".join(shipped_models())) or 0,
                "listen": lambda a: cmd_listen(a, _device(a.device), a.seconds)}
    try:
        return handlers[a.command](a)
    except BrokenPipeError:  # the reader went away (edge stream ... | head): not an error
        sys.stderr.close()
        return 0
    except (AudioError, ModelError, ValueError, OSError) as e:
        print(f"edge: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
