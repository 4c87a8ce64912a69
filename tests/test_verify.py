"""A wake word's second opinion (edge/verify.py): our phone recognizer's or pocketsphinx's score of each candidate."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from edge.audio import load_audio
from edge.model import Model, ModelError, ModelSpec, resolve
from edge.pipeline import StreamConfig, StreamingPipeline
from edge.verify import ENGINE_DEFAULTS, Candidates, KeyphraseScorer, PhoneScorer, VerifyError, VerifySpec, keyword_score

ALEXA = {"alexa": "AH L EH K S AH"}
PAD = np.zeros(16_000, np.float32)


def verified(tmp_path_factory, engine: str):
    """The shipped alexa model with verification by `engine` asked for in its metadata, as edge-export writes it."""
    from export.wakeword import add_verification

    path = tmp_path_factory.mktemp("verify") / f"alexa_verified_{engine}.onnx"
    shutil.copyfile(resolve("alexa"), path)
    meta = add_verification(path, "alexa", engine)
    assert meta["pronunciations"] == ALEXA and meta["label"] == "alexa" and meta["engine"] == engine
    assert {k: meta[k] for k in ENGINE_DEFAULTS[engine]} == ENGINE_DEFAULTS[engine], "the engine's own settings"
    return path


@pytest.fixture(scope="module")
def verified_alexa(tmp_path_factory):
    return verified(tmp_path_factory, "pocketsphinx")


@pytest.fixture(scope="module")
def phones_alexa(tmp_path_factory):
    return verified(tmp_path_factory, "phones")


def test_spec_wants_every_word_spelt_in_arpabet():
    with pytest.raises(VerifyError, match="needs a pronunciation"):
        VerifySpec(label="smart mirror", phrase="smart mirror", pronunciations={"smart": "S M AA R T"})
    with pytest.raises(VerifyError, match="ARPAbet"):
        VerifySpec(label="alexa", phrase="alexa", pronunciations={"alexa": "ə l ɛ k s ə"})
    with pytest.raises(VerifyError, match="unknown fields"):
        VerifySpec.from_dict({"label": "alexa", "phrase": "alexa", "pronunciations": ALEXA, "colour": 1})
    spec = VerifySpec(label="alexa", phrase="alexa", pronunciations=ALEXA)
    assert VerifySpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    # the candidate's score: the model's peak moved by the keyphrase score; no detection counts as `missing`
    assert spec.fused(0.5, 0.0) == pytest.approx(1 / (1 + np.exp(-spec.bias)))
    assert spec.fused(0.9, None) == pytest.approx(spec.fused(0.9, -100.0))
    assert spec.fused(0.9, None) < spec.fused(0.9, -0.1) < spec.fused(0.9, 0.0)


def test_model_metadata_names_a_foreground_label():
    base = dict(labels=("_background_", "alexa"), background=("_background_",), task="wakeword")
    assert "verify" not in json.loads(ModelSpec(**base).to_json()), "a model without verification is spelt as before"
    ok = {"label": "alexa", "phrase": "alexa", "pronunciations": ALEXA}
    assert ModelSpec.from_json(ModelSpec(**base, verify=ok).to_json()).verify == ok
    with pytest.raises(ModelError, match="foreground"):
        ModelSpec(**base, verify={**ok, "label": "_background_"})
    with pytest.raises(ModelError, match="pronunciation"):
        ModelSpec(**base, verify={**ok, "pronunciations": {}})


def test_candidates_open_at_the_floor_and_close_after_the_tail():
    spec = VerifySpec(label="alexa", phrase="alexa", pronunciations=ALEXA, floor=0.1, tail_s=0.3, lead_s=1.5, max_s=2.0)
    asked = []

    def audio(a, b):
        asked.append((round(a, 3), round(b, 3)))
        return np.zeros(int((b - a) * 16000), np.float32)

    c = Candidates(spec, lambda x: -0.1)
    scores = [0.0, 0.05, 0.3, 0.8, 0.2, 0.05, 0.0, 0.0, 0.0, 0.0]
    closed = [c.process(s, 0.1 * (i + 1), audio) for i, s in enumerate(scores)]
    done = [x for x in closed if x is not None]
    assert len(done) == 1 and closed.index(done[0]) == 7, "closes 0.3 s after the score last stood at the floor (t = 0.5)"
    start, end, score = done[0]
    assert (round(start, 3), round(end, 3)) == (0.0, 0.8) == asked[0], "from lead_s before it opened (clipped at 0) to its close"
    assert score == pytest.approx(spec.fused(0.8, -0.1)), "the peak of the candidate's scores"
    c = Candidates(spec, lambda x: None)
    long = [c.process(0.9, 0.1 * (i + 1), audio) for i in range(30)]
    assert [i for i, x in enumerate(long) if x] == [20], "max_s bounds a candidate; the next waits for the score to fall"
    assert c.process(0.0, 3.1, audio) is None and c.process(0.9, 3.2, audio) is None and c.open is not None, "re-armed"


def test_keyphrase_scorer_hears_real_people_say_the_phrase(data_root):
    """pocketsphinx's score of real 'alexa' recordings is above that of real people saying other words."""
    spec = VerifySpec(label="alexa", phrase="alexa", pronunciations=ALEXA)
    scorer = KeyphraseScorer(spec)
    alexa = sorted((data_root / "wakewords" / "alexa").glob("*.*"))[::30][:10]
    others = sorted((data_root / "speech_commands" / "yes").glob("*.*"))[:5] + sorted((data_root / "wakewords" / "snowboy").glob("*.*"))[:5]
    score = lambda p: max(spec.missing, scorer(load_audio(p)) or spec.missing)  # noqa: E731
    on, off = [score(p) for p in alexa], [score(p) for p in others]
    assert np.median(on) > np.median(off) + 0.1 and np.percentile(on, 20) > np.median(off), (on, off)
    assert sum(s > spec.missing for s in on) >= 9, "the phrase is found in nearly every real recording"


def assert_catches_real_alexa(model, p, data_root) -> None:
    """The verified pipeline p fires at most once on each of six real 'alexa' clips, and on five of them at least."""
    clips = sorted((data_root / "wakewords" / "alexa").glob("*.*"))[::40][:6]
    caught = 0
    for c in clips:
        p.reset()
        events = list(p.run([np.concatenate([PAD, load_audio(c), PAD])]))
        assert len(events) <= 1 and all(e.label == "alexa" and e.score >= model.spec.verify["threshold"] for e in events), events
        caught += bool(events)
    assert caught >= 5, f"caught {caught} of {len(clips)} real 'alexa' clips"


def test_verified_stream_fires_once_per_utterance_and_reports_every_candidate(verified_alexa, data_root):
    model = Model(str(verified_alexa))
    p = StreamingPipeline(model)
    assert p.history is not None and type(p.decide).__name__ == "VerifiedTrigger"
    assert_catches_real_alexa(model, p, data_root)
    # --no-verify: the model's own score at its own threshold, no pocketsphinx
    plain = StreamingPipeline(model, StreamConfig(verify=False))
    assert plain.history is None and type(plain.decide).__name__ == "EventTrigger"


def test_cli_streams_verified_and_not(verified_alexa, data_root, tmp_path):
    import soundfile as sf

    clip = sorted((data_root / "wakewords" / "alexa").glob("*.*"))[0]
    wav = tmp_path / "alexa.wav"
    sf.write(wav, np.concatenate([PAD, load_audio(clip), PAD]), 16_000)
    for extra in ([], ["--no-verify"]):
        r = subprocess.run([sys.executable, "-m", "edge.cli", "stream", str(wav), "--model", str(verified_alexa), "--json", *extra],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        events = [json.loads(line) for line in r.stdout.splitlines()]
        assert [e["label"] for e in events] == ["alexa"], (extra, events)


def test_missing_pocketsphinx_is_one_line(verified_alexa, monkeypatch):
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)  # import fails as if not installed
    with pytest.raises(VerifyError, match=r"pip install 'edge-audio\[verify\]'"):
        StreamingPipeline(Model(str(verified_alexa)))
    StreamingPipeline(Model(str(verified_alexa)), StreamConfig(verify=False))  # not needed when not asked


def test_pronunciations_come_from_cmudict_or_espeak():
    from export.phonetic import arpabet, ipa_to_arpabet

    assert arpabet("Smart mirror") == {"smart": "S M AA R T", "mirror": "M IH R ER"}
    assert arpabet("snowboy") == {"snowboy": "S N OW B OY"}, "not in CMUdict: espeak-ng's IPA mapped"
    assert ipa_to_arpabet("tʃeɪndʒ") == "CH EY N JH"


def test_export_verify_without_pocketsphinx_is_told_before_training(monkeypatch, tmp_path, data_root, capsys):
    import export.cli as cli
    import export.wakeword as W

    monkeypatch.setitem(sys.modules, "pocketsphinx", None)
    monkeypatch.setattr(W, "Pools", lambda *a, **k: pytest.fail("synthesis started"))
    out = tmp_path / "x.onnx"
    assert cli.main(["wakeword", "hey edge", "--verify", "--verify-engine", "pocketsphinx", "-o", str(out), "--data", str(data_root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'edge-audio[verify]'" in err and not out.exists()


# --- our own phone recognizer (engine "phones") ---------------------------------------------------

def onehot(path: list, outputs: int = 40) -> np.ndarray:
    """log-probabilities whose best output at frame t is path[t] (0.9 against 0.1 / 39 for the rest)."""
    p = np.full((len(path), outputs), 0.1 / (outputs - 1))
    p[np.arange(len(path)), path] = 0.9
    return np.log(p)


def test_keyword_score_is_zero_where_the_best_path_spells_the_phones():
    phones = [3, 5, 5, 7]  # a phone said twice needs a blank between, as CTC spells it
    spelt = [0, 0, 9, 3, 3, 0, 5, 0, 5, 7, 7, 0, 12]  # other phones and blanks either side
    assert keyword_score(onehot(spelt), phones) == pytest.approx(0.0)
    step = np.log(0.1 / 39) - np.log(0.9)  # one frame aligned to an output that is not its best
    assert keyword_score(onehot([0, 3, 5, 5, 5, 7, 0]), phones) == pytest.approx(step), "no blank between the two: the frame between pays"
    assert keyword_score(onehot([0, 3, 5, 5, 7, 0]), phones) == pytest.approx(3 * step), "one 5 heard: the phones after it shift a frame"
    assert keyword_score(onehot([0, 3, 5, 0, 5, 8, 0]), phones) == pytest.approx(step), "one phone wrong: one frame pays"
    assert keyword_score(onehot([0, 3, 5, 0, 5, 0, 0]), phones) == pytest.approx(step), "the last phone not said: it takes a frame of silence"
    assert keyword_score(onehot([0, 9, 9, 0]), phones) < 10 * step, "fewer frames than the phones need: no alignment at all"


def test_spec_names_an_engine():
    with pytest.raises(VerifyError, match="engine"):
        VerifySpec(label="alexa", phrase="alexa", pronunciations=ALEXA, engine="whisper")
    old = {"label": "alexa", "phrase": "alexa", "pronunciations": ALEXA}
    assert VerifySpec.from_dict(old).engine == "pocketsphinx", "models written before there were two engines keep theirs"


def test_phone_recognizer_hears_real_people_say_the_phrase(data_root):
    """The shipped recognizer, trained on synthesized speech only, scores real people's 'alexa' above
    real people saying other words, and each dev phrase's recordings above the other phrases'."""
    spelt = {"alexa": ALEXA, "snowboy": {"snowboy": "S N OW B OY"}, "view glass": {"view": "V Y UW", "glass": "G L AE S"}}
    scorers = {k: PhoneScorer(VerifySpec(label=k, phrase=k, pronunciations=v, engine="phones")) for k, v in spelt.items()}
    folders = {"alexa": "alexa", "snowboy": "snowboy", "view glass": "view_glass"}
    clips = {k: [load_audio(p) for p in sorted((data_root / "wakewords" / f).glob("*.*"))[::37][:8]] for k, f in folders.items()}
    words = [load_audio(p) for p in sorted((data_root / "speech_commands" / "yes").glob("*.*"))[:4]
             + sorted((data_root / "speech_commands" / "left").glob("*.*"))[:4]]
    for phrase, scorer in scorers.items():
        on = [scorer(x) for x in clips[phrase]]
        off = [scorer(x) for k, xs in clips.items() if k != phrase for x in xs] + [scorer(x) for x in words]
        assert all(s <= 1e-6 for s in on + off), "a score is at most 0"
        assert np.median(on) > np.percentile(off, 90), (phrase, on, off)


def test_phone_verified_stream_fires_on_real_people(phones_alexa, data_root):
    model = Model(str(phones_alexa))
    p = StreamingPipeline(model)
    assert type(p.decide).__name__ == "VerifiedTrigger" and type(p.decide.candidates.scorer).__name__ == "PhoneScorer"
    assert_catches_real_alexa(model, p, data_root)
    p.reset()
    others = [load_audio(c) for c in sorted((data_root / "speech_commands" / "left").glob("*.*"))[:20]]
    assert not list(p.run([np.concatenate([PAD] + others)])), "quiet through other people's words"


def test_phone_verification_needs_no_pocketsphinx(phones_alexa, monkeypatch, data_root):
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)
    clip = sorted((data_root / "wakewords" / "alexa").glob("*.*"))[0]
    events = list(StreamingPipeline(Model(str(phones_alexa))).run([np.concatenate([PAD, load_audio(clip), PAD])]))
    assert [e.label for e in events] == ["alexa"]


def test_phone_recognizer_trains_and_exports(tmp_path, data_root):
    """edge-export phones on a tiny corpus: INT8 ONNX with its metadata and record, read by PhoneScorer."""
    from export.cli import main

    out = tmp_path / "p.onnx"
    assert main(["phones", "-o", str(out), "--utterances", "30", "--epochs", "1", "--data", str(data_root)]) == 0
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["corpus"]["utterances"] >= 25 and len(record["history"]) == 1
    assert set(record["int8_checks"]) == {"synthesized_dev_per", "real_speech_commands_per", "real_speech_commands_words"}
    assert record["quantize"]["mode"] == "static"
    scorer = PhoneScorer(VerifySpec(label="alexa", phrase="alexa", pronunciations=ALEXA, engine="phones"), out)
    # 8000 samples: 48 log-mel frames of 10 ms, one output per two
    assert scorer.logp(np.zeros(8000, np.float32)).shape == (24, 40) and scorer(np.zeros(100, np.float32)) <= 0
    before = out.read_bytes()
    assert main(["phones", "-o", str(out), "--utterances", "30", "--epochs", "1"]) == 2 and out.read_bytes() == before, "never overwritten"
    assert main(["phones", "-o", str(tmp_path / "p.txt")]) == 2
    with pytest.raises(VerifyError, match="not a phone recognizer"):
        PhoneScorer(VerifySpec(label="alexa", phrase="alexa", pronunciations=ALEXA, engine="phones"), resolve("alexa"))


@pytest.mark.parametrize("args, message", [
    (["table", "--draws", "x", "--dumps", "{tmp}"], "--draws wants comma-separated integers"),
    (["table", "--draws", "9", "--dumps", "{tmp}"], "not dumped yet"),
    (["calibrate", "--draws", "9", "--dumps", "{tmp}", "--data", "{tmp}/nope"], "data folder not found"),
    (["dump", "--draws", "9", "--out", "{tmp}", "--models", "{tmp}/m_{keyword}_{draw}_{fold}.onnx"], "no model"),
])
def test_verify_replay_bad_input_is_one_line(tmp_path, data_root, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    args += [] if "--data" in args else ["--data", str(data_root)]
    r = subprocess.run([sys.executable, "-m", "benchmarks.verify_replay", *args], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and message in r.stderr, r.stderr


def test_the_recognizer_is_shipped_but_not_listed_as_a_model():
    from edge.model import shipped_models
    from edge.verify import resolve_phones

    assert resolve_phones().is_file() and "_phones" not in shipped_models() and "alexa" in shipped_models()
    with pytest.raises(ModelError, match="unknown model"):
        resolve("_phones")
