"""The whole stream and the shipped model: block-size invariance, reset, accuracy on unseen speakers."""
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import soundfile as sf

from edge.api import classify, stream_file
from edge.model import resolve
from edge.pipeline import StreamConfig, StreamingPipeline
from export.evaluate import evaluate
from export.quantize import quantized_op_counts

HELD_OUT_ACCURACY_FLOOR = 0.80  # the shipped model measured higher; see its record and the README
MAX_MODEL_BYTES = 100_000


def run_blocks(pipeline, audio, block):
    events = []
    for i in range(0, len(audio), block):
        events += pipeline.process(audio[i:i + block])
    return events + pipeline.flush()


def test_same_events_whatever_the_block_size(commands_model, word_stream):
    audio, _ = word_stream
    ref = run_blocks(StreamingPipeline(commands_model), audio, 16_000)
    assert ref, "the stream of real words gave no events at all"
    for block in (1, 160, 333, 4096):
        assert run_blocks(StreamingPipeline(commands_model), audio, block) == ref, f"block size {block}"


def test_reset_equals_fresh(commands_model, word_stream):
    audio, _ = word_stream
    used = StreamingPipeline(commands_model)
    run_blocks(used, audio[::-1].copy(), 1000)
    used.process(audio[:777])
    used.reset()
    assert run_blocks(used, audio, 1000) == run_blocks(StreamingPipeline(commands_model), audio, 1000)


def test_stream_hears_the_words_in_order(commands_model, word_stream):
    audio, words = word_stream
    events = run_blocks(StreamingPipeline(commands_model), audio, 1600)
    heard = [e.label for e in events]
    hits = sum(1 for w in words if w in heard)
    assert hits >= len(words) - 2, f"said {words}, heard {heard}"
    assert len(events) <= len(words) + 1, f"one event per word: said {words}, heard {heard}"


def test_vad_skips_the_model_in_silence(commands_model):
    p = StreamingPipeline(commands_model, StreamConfig())
    p.process(np.zeros(32_000, np.float32))
    assert p.hops_scored == 0
    q = StreamingPipeline(commands_model, StreamConfig(vad=False))
    q.process(np.zeros(32_000, np.float32))
    assert q.hops_scored == 20  # 2 s at a 100 ms hop


def test_shipped_model_carries_its_metadata_and_is_int8(commands_model):
    spec = commands_model.spec
    assert spec.labels[:10] == ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
    assert spec.frontend["type"] == "logmel" and spec.sample_rate == 16_000 and spec.window_samples == 16_000
    path = resolve("commands")
    assert path.stat().st_size <= MAX_MODEL_BYTES
    ops = quantized_op_counts(path)
    assert ops.get("QuantizeLinear", 0) > 0 and ops.get("DequantizeLinear", 0) > 0, ops


def test_shipped_model_accuracy_on_speakers_it_never_heard(held_out_clips):
    report = evaluate(resolve("commands"), held_out_clips)
    assert report["n"] > 400
    assert report["accuracy"] >= HELD_OUT_ACCURACY_FLOOR, json.dumps(report["per_class"])


def test_classify_accepts_path_bytes_array_and_dict(data_root):
    path = data_root / "smoke" / "yes_1000ms.wav"
    x, rate = sf.read(str(path), dtype="float32")
    results = [classify(path), classify(path.read_bytes()), classify(x), classify({"sampling_rate": rate, "array": x})]
    assert all(r[0]["label"] == "yes" for r in results), results
    assert results[0] == results[1] == results[2]
    scores = [p["score"] for p in results[0]]
    assert scores == sorted(scores, reverse=True)


def test_other_rates_channels_and_formats_give_the_same_answer(data_root, tmp_path):
    from scipy.signal import resample_poly

    x, _ = sf.read(str(data_root / "smoke" / "yes_1000ms.wav"), dtype="float32")
    stereo = np.stack([x, x], axis=1)
    sf.write(tmp_path / "a.wav", resample_poly(stereo, 441, 160, axis=0), 44_100, subtype="PCM_24")
    sf.write(tmp_path / "b.ogg", resample_poly(x, 3, 1), 48_000)
    sf.write(tmp_path / "c.flac", resample_poly(x, 1, 2), 8_000)
    for f in ("a.wav", "b.ogg", "c.flac"):
        assert classify(tmp_path / f)[0]["label"] == "yes", f


def test_stdin_pcm_gives_the_file_events(word_stream, tmp_path):
    audio, _ = word_stream
    wav = tmp_path / "s.wav"
    sf.write(wav, audio, 16_000, subtype="PCM_16")
    pcm = (np.clip(audio, -1, 1 - 1 / 32768) * 32768).astype("<i2").tobytes()
    run = lambda args, inp=None: subprocess.run([sys.executable, "-m", "edge.cli", "stream", "--json", *args],
                                               input=inp, capture_output=True, check=True).stdout
    from_file, from_stdin = run([str(wav)]), run(["-"], pcm)
    assert from_file and from_file == from_stdin
    first = json.loads(from_file.splitlines()[0])
    assert set(first) == {"type", "label", "score", "start", "end"} and first["type"] == "detection"


def test_api_stream_matches_the_pipeline(commands_model, word_stream, tmp_path):
    audio, _ = word_stream
    wav = tmp_path / "s.flac"
    sf.write(wav, audio, 16_000, subtype="PCM_16")
    streamed = list(stream_file(wav, commands_model))
    q = (np.clip(audio, -1, 1 - 1 / 32768) * 32768).astype(np.int16) / 32768.0  # what PCM_16 keeps
    assert streamed == run_blocks(StreamingPipeline(commands_model), q.astype(np.float32), 1600)


def test_integer_multichannel_arrays_are_scaled_before_mixing(data_root):
    from scipy.signal import resample_poly

    x, _ = sf.read(str(data_root / "smoke" / "yes_1000ms.wav"), dtype="float32")
    pcm = (np.clip(resample_poly(x, 3, 1), -1, 1 - 1 / 32768) * 32768).astype(np.int16)
    stereo = np.stack([pcm, pcm], axis=1)
    assert classify({"sampling_rate": 48_000, "array": stereo})[0]["label"] == "yes"


def _exact_int8_entry(opts) -> str:
    try:
        return opts.get_session_config_entry("session.disable_quant_qdq")
    except RuntimeError:  # not set
        return ""


def test_int8_fallback_is_exact_and_chosen_for_avx2_without_vnni(monkeypatch, tmp_path, data_root):
    """On an x86 CPU with AVX2 and no VNNI the sessions run quantized ops through float (ONNX
    Runtime's fused u8s8 kernels saturate there); those scores equal the unoptimized graph's."""
    import glob

    import onnxruntime as ort

    import edge.model as em

    for flags, expected in (("flags : sse avx2 fma", "1"), ("flags : avx2 avx512f avx512_vnni", "")):
        (tmp_path / "cpuinfo").write_text(flags)
        monkeypatch.setattr(em, "CPUINFO", tmp_path / "cpuinfo")
        monkeypatch.setattr("platform.machine", lambda: "x86_64")
        em._int8_may_saturate.cache_clear()
        assert _exact_int8_entry(em.session_options(1)) == expected, flags
    em._int8_may_saturate.cache_clear()
    model = em.Model("commands")
    files = sorted(glob.glob(str(data_root / "speech_commands" / "*" / "*.flac")))[::80][:30]
    x = np.stack([np.pad(sf.read(f, dtype="float32")[0], (0, 16000))[:16000] for f in files])
    feed = model.feed(model.features(x))
    (tmp_path / "cpuinfo").write_text("flags : avx2")
    em._int8_may_saturate.cache_clear()
    fallback = ort.InferenceSession(str(model.path), em.session_options(1), providers=["CPUExecutionProvider"]).run(None, feed)[0]
    plain = em.session_options(1)
    plain.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    reference = ort.InferenceSession(str(model.path), plain, providers=["CPUExecutionProvider"]).run(None, feed)[0]
    np.testing.assert_allclose(fallback, reference, atol=1e-4)
    em._int8_may_saturate.cache_clear()


def test_int8_fallback_benchmark_times_two_different_sessions():
    """Model(exact_int8=...) overrides the CPU check: benchmarks.int8_fallback's two arms are two
    sessions, one with the fallback and one without, whatever this CPU would pick."""
    from benchmarks.int8_fallback import sessions

    arms = sessions("gender")
    fused, fallback = arms["fused"], arms["fallback"]
    assert fused is not fallback
    assert (_exact_int8_entry(fused.session.get_session_options()), _exact_int8_entry(fallback.session.get_session_options())) == ("", "1")


def test_several_models_fire_what_each_fires_alone(commands_model, word_stream, data_root):
    """A wake word and the commands on one stream of real speech: every event each model fires
    alone, named by its model, in stream-time order, whatever the block size."""
    from edge.api import load_model
    from edge.pipeline import MultiPipeline

    alexa = load_model("alexa")
    words, _ = word_stream
    gap = np.zeros(8000, np.float32)
    said = [sf.read(str(p), dtype="float32")[0] for p in sorted((data_root / "wakewords" / "alexa").glob("*.*"))[:3]]
    audio = np.concatenate([said[0], gap, words, gap, said[1], gap, said[2]])
    alone = [(e, m.name) for m in (alexa, commands_model) for e in run_blocks(StreamingPipeline(m), audio, 1600)]
    assert {name for _, name in alone} == {"alexa", "commands"}, "each model alone should fire on this stream"
    want = sorted((replace(e, model=name) for e, name in alone), key=lambda e: e.end)
    for block in (1600, 333):
        got = run_blocks(MultiPipeline([alexa, commands_model]), audio, block)
        assert got == want, f"block size {block}"
    assert all(e.model for e in got) and [e.end for e in got] == sorted(e.end for e in got)
    assert all(e.to_dict()["model"] == e.model for e in got)
    assert "model" not in run_blocks(StreamingPipeline(alexa), audio, 1600)[0].to_dict()  # one model: as before


def test_several_models_from_the_command_line(tmp_path, data_root):
    x, _ = sf.read(str(data_root / "wakewords" / "alexa" / "10.flac"), dtype="float32")
    y, _ = sf.read(str(sorted((data_root / "speech_commands" / "yes").glob("*.*"))[0]), dtype="float32")
    wav = tmp_path / "both.wav"
    sf.write(wav, np.concatenate([x, np.zeros(8000, np.float32), y]), 16_000)
    edge = [sys.executable, "-m", "edge.cli", "stream", str(wav), "--json"]

    def events(*models):
        out = subprocess.run(edge + [a for m in models for a in ("--model", m)], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines()]

    both = events("alexa", "commands")
    alone = sorted(({**e, "model": m} for m in ("alexa", "commands") for e in events(m)), key=lambda e: e["end"])
    assert both == alone and {e["model"] for e in both} == {"alexa", "commands"}, both
    twice = subprocess.run(edge + ["--model", "alexa", "--model", "alexa"], capture_output=True, text=True)
    assert twice.returncode == 2 and twice.stdout == "" and len(twice.stderr.strip().splitlines()) == 1, twice.stderr
    assert "named alexa" in twice.stderr
