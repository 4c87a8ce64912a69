"""Each streaming stage alone: resampler, ring buffer, VAD gate, trigger, segment aggregation."""
import numpy as np
import pytest
import scipy.fft
from scipy.signal import resample_poly

from edge.decision import EventTrigger, SegmentAggregator
from edge.features import LogMel, LogMelConfig
from edge.resample import StreamingResampler
from edge.ring import RingBuffer
from edge.vad import VadGate


@pytest.mark.parametrize("rate", [48_000, 44_100, 32_000, 22_050, 8_000])
def test_streaming_resampler_matches_scipy_whatever_the_blocks(rate):
    rng = np.random.default_rng(rate)
    x = rng.standard_normal(rate).astype(np.float32)
    rs, out, i = StreamingResampler(rate), [], 0
    while i < len(x):
        n = int(rng.integers(1, 3000))
        out.append(rs.process(x[i:i + n]))
        i += n
    y = np.concatenate(out + [rs.flush()])
    g = np.gcd(rate, 16_000)
    ref = resample_poly(x, 16_000 // g, rate // g)
    assert len(y) == len(ref)
    tail = 20  # scipy treats the last samples' padding slightly differently
    np.testing.assert_allclose(y[:-tail], ref[:-tail], atol=2e-5)


def test_resampler_reset_equals_fresh():
    x = np.random.default_rng(0).standard_normal(4800).astype(np.float32)
    a = StreamingResampler(48_000)
    a.process(np.ones(1000, np.float32))
    a.reset()
    np.testing.assert_array_equal(a.process(x), StreamingResampler(48_000).process(x))


def test_ring_buffer_wraps_around_and_keeps_the_latest_samples():
    ring = RingBuffer(10)
    np.testing.assert_array_equal(ring.window(), np.zeros(10))
    ring.write(np.arange(7))
    ring.write(np.arange(7, 15))  # wraps
    np.testing.assert_array_equal(ring.window(), np.arange(5, 15))
    ring.write(np.arange(100, 125))  # longer than the ring
    np.testing.assert_array_equal(ring.window(), np.arange(115, 125))
    ring.reset()
    np.testing.assert_array_equal(ring.window(), np.zeros(10))


def test_vad_gate_opens_on_speech_and_holds_for_the_hangover(word_stream):
    audio, _ = word_stream
    gate = VadGate(mode=2, frame_ms=20, hangover_ms=200)
    frames = audio[: len(audio) // 320 * 320].reshape(-1, 320)
    opened = [gate.process(f) for f in frames]
    assert any(opened) and not all(opened)
    gate.reset()
    assert not any(gate.process(np.zeros(320, np.float32)) for _ in range(20)), "silence must keep the gate closed"


def test_vad_hangover_counts_frames_after_the_last_speech_frame():
    gate = VadGate(frame_ms=20, hangover_ms=200)
    gate.is_speech = lambda frame: bool(frame.any())  # the hangover logic alone, on a known decision
    assert gate.process(np.ones(320, np.float32))
    after = [gate.process(np.zeros(320, np.float32)) for _ in range(15)]
    assert after == [True] * 10 + [False] * 5, "hangover of 200 ms = 10 frames of 20 ms"


def test_vad_on_a_hop_of_frames_equals_frame_by_frame(data_root):
    from edge.audio import load_audio

    x = load_audio(sorted((data_root / "emodb").glob("*.*"))[0])[: 320 * 100]
    one, many = VadGate(), VadGate()
    per_frame = [one.process(x[i:i + 320]) for i in range(0, len(x), 320)]
    per_hop = [many.process_frames(x[i:i + 320 * 5]) for i in range(0, len(x), 320 * 5)]
    assert per_hop == per_frame[4::5] and any(per_hop) and not all(per_frame)
    with pytest.raises(ValueError, match="whole number of 320-sample frames"):
        many.process_frames(x[:500])


def test_vad_rejects_a_wrong_frame_size_with_an_exact_message():
    with pytest.raises(ValueError, match=r"expected 320 samples \(20 ms at 16 kHz\), got 512"):
        VadGate(frame_ms=20).process(np.zeros(512, np.float32))


def _trigger(refractory_s=1.0, smoothing=1):
    return EventTrigger(("yes", "no", "_silence_"), np.array([0.5, 0.5, 0.5]), np.array([True, True, False]),
                        smoothing, refractory_s, window_s=1.0)


def test_refractory_period_gives_one_event_per_word():
    trig = _trigger(refractory_s=1.0)
    hot = np.array([0.9, 0.05, 0.05], np.float32)
    events = [e for k in range(30) for e in trig.process(hot, 0.1 * (k + 1))]
    assert [round(e.end, 1) for e in events] == [0.1, 1.1, 2.1], "one event per refractory second"
    assert all(e.label == "yes" for e in events)


def test_background_labels_never_fire_and_a_closed_gate_clears_smoothing():
    trig = _trigger(smoothing=3, refractory_s=0)
    assert trig.process(np.array([0.0, 0.0, 1.0], np.float32), 0.1) == []
    trig.reset()
    hot = np.array([0.9, 0.05, 0.05], np.float32)
    assert trig.process(hot * 0.5, 0.1) == []  # 0.45 < 0.5
    assert trig.process(None, 0.2) == []  # gate closed: history cleared
    assert len(trig.process(hot, 0.3)) == 1, "after a clear, the average is of the new hop only"


def test_segment_aggregator_reports_the_mean_label_per_segment():
    agg = SegmentAggregator(("female", "male"), window_s=1.0)
    for t, p in [(1.0, [0.8, 0.2]), (1.1, [0.4, 0.6]), (1.2, [0.9, 0.1])]:
        assert agg.process(np.array(p), t) == []
    (seg,) = agg.process(None, 1.3)
    assert seg.label == "female" and seg.type == "segment"
    assert seg.score == pytest.approx(0.7) and (seg.start, seg.end) == (0.0, 1.2)
    agg.process(np.array([0.1, 0.9]), 5.0)
    assert agg.flush() == [], "a single window is too short to report"


def test_log_mel_frames_and_config_round_trip():
    cfg = LogMelConfig()
    assert LogMelConfig.from_dict(cfg.to_dict()) == cfg
    f = LogMel(cfg)(np.zeros((2, 16_000), np.float32))
    assert f.shape == (2, 40, 98) and np.isfinite(f).all()
    with pytest.raises(ValueError):
        LogMelConfig(win_length=1024)


def test_log_mel_of_magnitude_sums_the_bins_magnitudes():
    audio = np.random.default_rng(3).standard_normal(16_000).astype(np.float32) * 0.1
    cfg = LogMelConfig(win_length=480, hop_length=320, fmax=4000.0, power=1.0)
    lm = LogMel(cfg)
    frames = np.stack([audio[i * 320:i * 320 + 480] for i in range(cfg.n_frames(len(audio)))]) * lm.window
    magnitude = np.abs(np.fft.rfft(frames, n=512))
    expected = np.log(magnitude @ lm.filters.T + 1e-6).T
    np.testing.assert_allclose(lm(audio), expected, atol=1e-3)
    assert not np.allclose(LogMel(LogMelConfig(win_length=480, hop_length=320, fmax=4000.0))(audio), expected, atol=0.1)
    with pytest.raises(ValueError, match="power"):
        LogMelConfig(power=3.0)


@pytest.mark.parametrize("shape", [(16_000,), (3, 24_000), (2, 2, 8_123)])
def test_log_mel_spectrogram_is_the_plain_framing_to_the_bit(shape):
    """The strided, pre-padded framing gives the very numbers of frames gathered by index and
    padded by rfft(n=n_fft), which the shipped models were trained on."""
    cfg = LogMelConfig()
    lm = LogMel(cfg)
    audio = np.random.default_rng(5).standard_normal(shape).astype(np.float32) * 0.1
    idx = np.arange(cfg.win_length)[None, :] + cfg.hop_length * np.arange(cfg.n_frames(shape[-1]))[:, None]
    spec = scipy.fft.rfft(audio[..., idx] * lm.window, n=cfg.n_fft, axis=-1)
    np.testing.assert_array_equal(lm.power(audio), spec.real ** 2 + spec.imag ** 2)
