"""The microphone path for real: a PulseAudio virtual microphone (a null sink and a remap
source) carries real clips into `edge listen`, which captures at the device's own rate."""
import json
from pathlib import Path
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

SINK, SOURCE = "edge_test_sink", "edge_test_mic"
WAKEWORD_MODEL = "alexa"  # the shipped wake-word model, trained from text alone
pytestmark = pytest.mark.mic


def pactl(*args):
    return subprocess.run(["pactl", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def virtual_mic():
    for tool in ("pulseaudio", "pactl", "paplay"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} not found: install Debian's pulseaudio and pulseaudio-utils (scripts/setup.sh --dev does)")
    if pactl("info").returncode != 0:
        subprocess.run(["pulseaudio", "-D", "--exit-idle-time=-1"], capture_output=True)
        for _ in range(50):
            if pactl("info").returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail("could not start a PulseAudio server")
    sink = pactl("load-module", "module-null-sink", f"sink_name={SINK}", "rate=48000").stdout.strip()
    source = pactl("load-module", "module-remap-source", f"master={SINK}.monitor", f"source_name={SOURCE}").stdout.strip()
    previous = pactl("get-default-source").stdout.strip()
    pactl("set-default-source", SOURCE)
    yield SINK
    if previous:
        pactl("set-default-source", previous)
    for module in (source, sink):
        pactl("unload-module", module)


def listen_while_playing(sink, audio, tmp_path, *args) -> list:
    """Play 16 kHz audio into the virtual microphone while `edge listen --json` runs; the labels it printed."""
    return [e["label"] for e in events_while_playing(sink, audio, tmp_path, *args)]


def events_while_playing(sink, audio, tmp_path, *args) -> list:
    """As listen_while_playing, the events it printed (dicts)."""
    wav = tmp_path / "played.wav"
    sf.write(wav, audio, 16_000, subtype="PCM_16")
    seconds = len(audio) / 16_000 + 3
    listen = subprocess.Popen([sys.executable, "-m", "edge.cli", "listen", *args, "--device", "pulse", "--json", "--seconds", str(seconds)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    banner = listen.stderr.readline()
    assert "listening on" in banner, banner + listen.stderr.read()
    subprocess.run(["paplay", f"--device={sink}", str(wav)], check=True, timeout=120)
    out, err = listen.communicate(timeout=120)
    assert listen.returncode == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_listen_hears_real_words_through_a_virtual_microphone(virtual_mic, word_stream, tmp_path):
    audio, words = word_stream
    heard = listen_while_playing(virtual_mic, np.concatenate([audio, np.zeros(16_000, np.float32)]), tmp_path)
    hits = sum(1 for w in words if w in heard)
    assert hits >= len(words) - 2, f"played {words}, heard {heard}"
    assert len(heard) <= len(words) + 1, f"one event per word: played {words}, heard {heard}"


def test_listen_fires_once_per_spoken_wake_word(virtual_mic, data_root, tmp_path):
    """The shipped wake word, trained from text alone, heard from real people through a microphone."""
    from edge.api import load_model
    from edge.model import resolve

    model = load_model(WAKEWORD_MODEL)
    phrase = model.labels[1]
    record = json.loads(resolve(WAKEWORD_MODEL).with_suffix(".json").read_text())
    folder = data_root / "wakewords" / record["data"]["own_recordings_left_out"][0]
    clips = sorted(folder.glob("*.*"))[::50][:5]
    gap = np.zeros(32_000, np.float32)
    parts = [gap]
    for c in clips:
        x, _ = sf.read(str(c), dtype="float32")
        parts += [x, gap]
    events = events_while_playing(virtual_mic, np.concatenate(parts), tmp_path, "--model", WAKEWORD_MODEL, "--save-events", tmp_path / "kept")
    heard = [e["label"] for e in events]
    assert heard.count(phrase) >= len(clips) - 1, f"played {len(clips)} x {phrase!r}, heard {heard}"
    assert len(heard) <= len(clips), f"one event per utterance: played {len(clips)}, heard {heard}"
    for e in events:  # --save-events: each event's audio, heard through the microphone, kept
        x, rate = sf.read(e["audio"], dtype="float32")
        assert rate == 16_000 and len(x) == round((e["end"] - e["start"] + 1.0) * 16_000), (e, len(x))
        assert np.sqrt(np.mean(x ** 2)) > 1e-3, f"{e['audio']}: the saved audio holds the speech played"
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == sorted(Path(e["audio"]).name for e in events)


def test_listen_runs_a_wake_word_and_the_commands_at_once(virtual_mic, data_root, word_stream, tmp_path):
    """Two models on one microphone: each hears its own speech, and each event names its model."""
    audio, words = word_stream
    said = [sf.read(str(c), dtype="float32")[0] for c in sorted((data_root / "wakewords" / "alexa").glob("*.*"))[::100][:2]]
    gap = np.zeros(16_000, np.float32)
    played = np.concatenate([gap, said[0], gap, audio, gap, said[1], gap])
    events = events_while_playing(virtual_mic, played, tmp_path, "--model", WAKEWORD_MODEL, "--model", "commands")
    heard = {m: [e["label"] for e in events if e["model"] == m] for m in (WAKEWORD_MODEL, "commands")}
    assert all(e["model"] in heard for e in events), events
    assert heard[WAKEWORD_MODEL].count("alexa") >= 1 and len(heard[WAKEWORD_MODEL]) <= 2, heard
    hits = sum(1 for w in words if w in heard["commands"])
    assert hits >= len(words) - 2, f"played {words}, commands heard {heard['commands']}"
