"""The CLI contract: bad input gives one clear line on stderr and exit code 2, never a traceback."""
import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf


def edge(*args, inp=None):
    return subprocess.run([sys.executable, "-m", "edge.cli", *map(str, args)], input=inp, capture_output=True, text=inp is None or isinstance(inp, str))


def one_line_error(r):
    assert r.returncode == 2, (r.returncode, r.stderr)
    err = r.stderr if isinstance(r.stderr, str) else r.stderr.decode()
    assert "Traceback" not in err, err
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("edge: error: "), err
    return lines[0]


@pytest.fixture
def bad_files(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n" * 20)
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(b"fLaC" + bytes(range(256)) * 4)
    nan = tmp_path / "nan.wav"
    x = np.zeros(16_000, np.float32)
    x[100] = np.nan
    sf.write(nan, x, 16_000, subtype="FLOAT")
    silent = tmp_path / "nosamples.wav"
    sf.write(silent, np.zeros(0, np.float32), 16_000)
    return {"missing": tmp_path / "missing.wav", "empty": empty, "text": text, "corrupt": corrupt, "nan": nan, "no samples": silent}


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "corrupt", "nan", "no samples"])
def test_bad_audio_file(bad_files, kind):
    line = one_line_error(edge("classify", bad_files[kind]))
    assert str(bad_files[kind]) in line or "audio" in line
    one_line_error(edge("stream", bad_files[kind]))


def test_batch_classify_keeps_the_good_results(bad_files, data_root):
    good = data_root / "smoke" / "yes_1000ms.wav"
    r = edge("classify", "--json", good, bad_files["corrupt"], good)
    assert r.returncode == 2
    out = [json.loads(l) for l in r.stdout.splitlines()]
    assert [o["file"] for o in out] == [str(good), str(good)]
    assert out[0]["predictions"][0]["label"] == "yes"
    assert r.stderr.count("edge: error:") == 1 and "Traceback" not in r.stderr


def test_unknown_model_name():
    line = one_line_error(edge("classify", "--model", "nosuchmodel", "x.wav"))
    assert "nosuchmodel" in line and "commands" in line


def test_onnx_without_our_metadata_and_with_wrong_inputs(tmp_path, data_root):
    import onnx
    from onnx import TensorProto, helper

    def save(name, shape, meta=None):
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)
        m = helper.make_model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        if meta:
            m.metadata_props.add(key="edge", value=meta)
        onnx.save(m, tmp_path / name)
        return tmp_path / name

    clip = data_root / "smoke" / "yes_1000ms.wav"
    plain = save("plain.onnx", ["b", 16_000])
    assert "metadata" in one_line_error(edge("classify", "--model", plain, clip))
    meta = json.dumps({"labels": ["a", "b"], "frontend": {"type": "logmel"}})
    wrong = save("wrong.onnx", ["b", 16_000], meta)
    assert "rank" in one_line_error(edge("stream", "--model", wrong, clip))
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    one_line_error(edge("classify", "--model", garbage, clip))


def test_bad_options_are_one_line_too(data_root):
    clip = data_root / "smoke" / "yes_1000ms.wav"
    assert "multiple" in one_line_error(edge("stream", "--hop-ms", "90", clip))
    one_line_error(edge("stream", "--threshold", "7", clip))
    assert "idle_stride" in one_line_error(edge("stream", "--idle-stride", "0", clip))
    r = edge("stream", "--model", "alexa", "--no-warps", clip)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr


def test_stdin_with_odd_bytes_and_nothing():
    r = edge("stream", "-", inp=b"")
    assert r.returncode == 0 and r.stdout == b""
    r = edge("stream", "--rate", "48000", "-", inp=b"\x00" * 48_001)
    assert r.returncode == 0


def test_a_reader_that_goes_away_is_not_an_error():
    from importlib import resources

    demo = resources.files("edge") / "samples" / "commands_demo.flac"
    r = subprocess.run(f"{sys.executable} -m edge.cli stream --no-vad --refractory 0 '{demo}' | head -c 1",
                       shell=True, capture_output=True, text=True, executable="/bin/bash")
    assert "error" not in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_saved_events_hold_the_audio_each_event_fired_on(tmp_path, monkeypatch):
    """--save-events DIR: each event names a 16 kHz WAV in DIR holding the stream's audio from a
    second before its window to its end (real speech, two models at once, the model in the name);
    one event saved twice gets a second name, the first file untouched; a DIR that is a file is a
    one-line error, the file kept."""
    from importlib import resources
    from pathlib import Path

    from edge.events import Detection
    from edge import saving
    from edge.saving import EventRecorder
    from edge.sources import file_blocks

    demo = resources.files("edge") / "samples" / "commands_demo.flac"
    kept = tmp_path / "kept" / "here"  # made, parents too
    r = edge("stream", demo, "--model", "commands", "--model", "alexa", "--json", "--save-events", kept)
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.returncode == 0 and len(events) >= 3, r.stderr
    stream = np.concatenate(list(file_blocks(demo)))
    for e in events:
        x, rate = sf.read(e["audio"], dtype="float32")
        a, b = max(0, round((e["start"] - 1.0) * 16_000)), round(e["end"] * 16_000)
        assert rate == 16_000 and Path(e["audio"]).parent == kept and f"_{e['model']}_{e['label']}_" in Path(e["audio"]).name
        assert len(x) == b - a and np.abs(x - np.clip(stream[a:b], -1, 1)).max() <= 1.5 / 32768, e
    assert len(list(kept.iterdir())) == len(events)
    text = edge("stream", demo, "--save-events", tmp_path / "text")
    assert all(line.split()[-1].endswith(".wav") and Path(line.split()[-1]).is_file() for line in text.stdout.splitlines())
    monkeypatch.setattr(saving.time, "strftime", lambda _: "20261207-120000")  # one second for both
    recorder = EventRecorder(tmp_path / "twice")
    recorder.feed(stream[:48_000])
    e = Detection("yes", 0.9, 1.5, 3.0)
    first = recorder.save(e)
    before = first.read_bytes()
    second = recorder.save(e)
    assert (first.name, second.name) == ("20261207-120000_yes_1.50s.wav", "20261207-120000_yes_1.50s_2.wav")
    assert first.read_bytes() == before == second.read_bytes()
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine")
    assert "not a folder" in one_line_error(edge("stream", demo, "--save-events", blocker))
    assert blocker.read_text() == "mine"
