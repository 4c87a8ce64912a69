"""The shipped gender model: metadata, INT8 graph, record; one segment event per speech segment on
real EmoDB speech; classify on clips; the training data and folds (no training here)."""
import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from edge.api import classify, load_model
from edge.features import LogMelConfig
from edge.model import resolve
from edge.pipeline import StreamingPipeline
from export.gender import GENDER_LABELS, GenderConfig, emodb_clips, speaker_folds, speech_starts
from export.quantize import quantized_op_counts

MAX_MODEL_BYTES = 100_000
CV_ACCURACY_FLOOR = 0.96  # speaker-independent, from the record: measured 0.971
FEMALE_ANGER_FLOOR = 0.90  # the [female, anger] slice: measured 0.981
GAP_S = 0.8  # silence between clips in the test stream, longer than the VAD hangover (0.3 s)
SPEAKERS = ("08", "10", "09", "11", "13", "12", "14", "15")  # alternating female, male


@pytest.fixture(scope="module")
def gender_model():
    return load_model("gender")


@pytest.fixture(scope="module")
def emodb(data_root):
    return emodb_clips(data_root)


@pytest.fixture(scope="module")
def gender_stream(emodb):
    """One clip of each speaker, alternating genders, with silence between: (audio, [(label, start, end)])."""
    gap = np.zeros(int(GAP_S * 16_000), np.float32)
    parts, truth, t = [gap], [], GAP_S
    for spk in SPEAKERS:
        clip = [c for c in emodb if c.speaker == spk and dict(c.meta)["emotion"] == "neutral"][0]
        x, _ = sf.read(str(clip.path), dtype="float32")
        parts += [x, gap]
        truth.append((clip.label, t, t + len(x) / 16_000))
        t += len(x) / 16_000 + GAP_S
    return np.concatenate(parts), truth


def run_blocks(pipeline, audio, block):
    events = []
    for i in range(0, len(audio), block):
        events += pipeline.process(audio[i:i + block])
    return events + pipeline.flush()


def test_shipped_model_metadata_and_int8_graph(gender_model):
    spec = gender_model.spec
    assert spec.labels == ("female", "male") and spec.task == "gender" and spec.aggregate == "segment"
    assert spec.frontend == LogMelConfig().to_dict() and spec.window_samples == 16_000
    path = resolve("gender")
    assert path.stat().st_size < MAX_MODEL_BYTES
    ops = quantized_op_counts(path)
    assert ops.get("QuantizeLinear", 0) > 0 and ops.get("DequantizeLinear", 0) > 0, f"not quantized: {ops}"


def test_record_holds_the_cross_validated_figures():
    record = json.loads(resolve("gender").with_suffix(".json").read_text())
    cv = record["cross_validated"]
    assert record["train_config"]["holdout"] == [], "the shipped model trains on every speaker"
    assert len(cv["folds"]) == 4 and all(len(f) == 2 for f in cv["folds"])
    assert cv["int8"]["accuracy"] >= CV_ACCURACY_FLOOR and cv["int8"]["n"] == 415
    assert set(cv["int8"]["speaker"]) == set(SPEAKERS)
    assert cv["int8"]["gender_emotion"]["female/anger"]["accuracy"] >= FEMALE_ANGER_FLOOR
    assert record["bytes"] == resolve("gender").stat().st_size


def test_one_segment_per_speech_segment_with_the_right_label(gender_model, gender_stream):
    audio, truth = gender_stream
    events = run_blocks(StreamingPipeline(gender_model), audio, 1600)
    assert [e.type for e in events] == ["segment"] * len(truth), f"{len(truth)} clips gave {[e.to_dict() for e in events]}"
    assert [e.label for e in events] == [t[0] for t in truth]
    for e, (_, start, end) in zip(events, truth):
        assert start - 0.2 <= e.start < e.end <= end + 0.5, f"segment {e.start:.2f}-{e.end:.2f}s for speech at {start:.2f}-{end:.2f}s"
    for a, b in zip(events, events[1:]):
        assert a.end < b.start, "segments separated by silence must not overlap"


def test_segments_are_the_same_whatever_the_block_size(gender_model, gender_stream):
    audio, _ = gender_stream
    ref = run_blocks(StreamingPipeline(gender_model), audio, 16_000)
    for block in (160, 777, 4096):
        assert run_blocks(StreamingPipeline(gender_model), audio, block) == ref, f"block size {block}"


def test_classify_clips_and_cli(gender_model, emodb, capsys):
    from edge.cli import main

    picked = [[c for c in emodb if c.speaker == spk][7] for spk in SPEAKERS]
    for c in picked:
        top = classify(str(c.path), gender_model, top_k=2)
        assert [p["label"] for p in top] == [c.label, "male" if c.label == "female" else "female"]
        assert sum(p["score"] for p in top) == pytest.approx(1.0, abs=1e-4)
    assert main(["classify", "--model", "gender", "--json", str(picked[0].path), str(picked[1].path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["predictions"][0]["label"] for line in lines] == [picked[0].label, picked[1].label]


def test_speaker_folds_pair_one_female_with_one_male(emodb):
    folds = speaker_folds(emodb)
    gender = {c.speaker: c.label for c in emodb}
    assert sorted(s for f in folds for s in f) == sorted(SPEAKERS)
    assert all(sorted(gender[s] for s in f) == list(GENDER_LABELS) for f in folds)


def test_training_windows_are_cut_where_the_speech_is():
    x = np.zeros(32_000, np.float32)
    x[20_000:30_000] = 0.5 * np.sin(np.arange(10_000) * 0.1)
    starts = speech_starts(x)
    assert len(starts) and all(s + 16_000 > 20_000 and s < 30_000 for s in starts)
    assert starts.min() > 20_000 - 16_000, "a window of silence only is never cut"
    assert list(speech_starts(np.ones(8_000, np.float32))) == [0], "a clip shorter than a window is used whole"


def test_config_is_validated_and_keyed_without_the_fold():
    with pytest.raises(ValueError, match="speed"):
        GenderConfig(speed=(0.5, 1.5))
    assert GenderConfig(holdout=("08", "10")).key() == GenderConfig().key() != GenderConfig(channels=(8, 16)).key()


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng not installed")
def test_tts_voices_are_labelled_by_their_gender():
    from export.tts import variant_genders

    genders = variant_genders()
    assert all(genders[f"f{i}"] == "female" for i in range(1, 6))
    assert all(genders[f"m{i}"] == "male" for i in range(1, 8))
    assert "whisper" not in genders and "whisperf" not in genders
