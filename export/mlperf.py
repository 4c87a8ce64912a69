"""The MLPerf-Tiny reference keyword model (DS-CNN, INT8 TFLite, Apache-2.0) and its MFCC
front end, reproduced in numpy: used as a peer in benchmarks/peer_mlperf.py and as a teacher
for distillation (export/teacher.py). Needs LiteRT (`pip install ai-edge-litert`).
The front end reproduces mlcommons/tiny benchmark/training/keyword_spotting/get_dataset.py
(feature_type "mfcc", evaluation path) in numpy:

  int16 clip -> float / max(clip) (the signed maximum, not the absolute one) -> zero-pad to 1 s at
  the end -> [pad 2, slice from 2: no time shift] -> no background noise (training only)
  -> tf.signal.stft(480, 320, fft_length=None -> 512, periodic Hann, no end padding) -> |.|
  -> tf.signal.linear_to_mel_weight_matrix(40, 257, 16 kHz, 20 Hz, 4000 Hz) -> log(mel + 1e-6)
  -> tf.signal.mfccs_from_log_mel_spectrograms (unnormalised DCT-II / sqrt(2 * 40)) -> first 10.

Inputs are quantised as that repository's eval_quantized_model.py does:
int8(x / scale + zero_point), a cast that truncates toward zero (clipped here to the int8 range).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.audio import SAMPLE_RATE

PEERS = "../shared/peers"  # default, from the project's root
MODEL_FILE, LABELS_FILE = "mlperf_tiny/kws_ref_model.tflite", "mlperf_tiny/labels.txt"
MODEL_TO_DATA_LABEL = {"silence": "_silence_", "unknown": "_unknown_"}  # other names are shared

CLIP_SAMPLES = SAMPLE_RATE  # 1 s, desired_samples
WINDOW_SAMPLES = SAMPLE_RATE * 30 // 1000  # 480: 30 ms STFT frame
STRIDE_SAMPLES = SAMPLE_RATE * 20 // 1000  # 320: 20 ms hop
FFT_LENGTH = 512  # tf.signal.stft with fft_length=None: smallest power of two >= frame
NUM_FRAMES = 1 + (CLIP_SAMPLES - WINDOW_SAMPLES) // STRIDE_SAMPLES  # 49, no end padding
NUM_MEL_BINS = 40
MEL_LOW_HZ, MEL_HIGH_HZ = 20.0, 4000.0
MEL_BREAK_HZ, MEL_HIGH_Q = 700.0, 1127.0  # HTK mel scale as in tf.signal
LOG_OFFSET = 1e-6  # log(mel + 1e-6)
NUM_MFCC = 10  # dct_coefficient_count

NUM_THREADS = 1  # interpreter threads (the CPU is shared)


def hann_periodic(n: int) -> np.ndarray:
    """tf.signal.hann_window(n, periodic=True)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


def hz_to_mel(hz):
    return MEL_HIGH_Q * np.log(1.0 + np.asarray(hz, np.float32) / np.float32(MEL_BREAK_HZ))


def mel_weights() -> np.ndarray:
    """tf.signal.linear_to_mel_weight_matrix: [FFT_LENGTH // 2 + 1, NUM_MEL_BINS], DC row zero."""
    n_bins = FFT_LENGTH // 2 + 1
    bins_mel = hz_to_mel(np.linspace(0.0, SAMPLE_RATE / 2, n_bins, dtype=np.float32)[1:])[:, None]
    edges = np.linspace(hz_to_mel(MEL_LOW_HZ), hz_to_mel(MEL_HIGH_HZ), NUM_MEL_BINS + 2, dtype=np.float32)
    lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.pad(weights, ((1, 0), (0, 0))).astype(np.float32)


def dct_matrix() -> np.ndarray:
    """tf.signal.mfccs_from_log_mel_spectrograms, first NUM_MFCC: 2*cos(...) / sqrt(2N), [N, NUM_MFCC]."""
    n, k = np.arange(NUM_MEL_BINS)[:, None], np.arange(NUM_MFCC)[None]
    basis = 2.0 * np.cos(np.pi * k * (2 * n + 1) / (2 * NUM_MEL_BINS))
    return (basis / np.sqrt(2.0 * NUM_MEL_BINS)).astype(np.float32)


WINDOW = hann_periodic(WINDOW_SAMPLES)
MEL = mel_weights()
DCT = dct_matrix()


def scale_and_pad(audio: np.ndarray) -> np.ndarray:
    """Divide by the clip's signed maximum (as get_dataset.py does), zero-pad or cut to 1 s."""
    peak = float(np.max(audio))
    if peak <= 0.0:
        raise ValueError(f"expected a clip with a positive peak to normalise by, got max {peak}")
    x = (audio / np.float32(peak)).astype(np.float32)
    return np.pad(x, (0, max(0, CLIP_SAMPLES - len(x))))[:CLIP_SAMPLES]


def mfcc(audio: np.ndarray) -> np.ndarray:
    """[NUM_FRAMES, NUM_MFCC] MFCCs of one normalised 1 s clip."""
    if len(audio) != CLIP_SAMPLES:
        raise ValueError(f"expected {CLIP_SAMPLES} samples (1 s at {SAMPLE_RATE} Hz), got {len(audio)}")
    starts = np.arange(NUM_FRAMES) * STRIDE_SAMPLES
    frames = audio[starts[:, None] + np.arange(WINDOW_SAMPLES)] * WINDOW
    magnitude = np.abs(np.fft.rfft(frames, n=FFT_LENGTH)).astype(np.float32)
    return np.log(magnitude @ MEL + np.float32(LOG_OFFSET)) @ DCT


class TfliteKws:
    """The INT8 reference model run by LiteRT; quantisation read from the model's input details."""

    def __init__(self, path: Path):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise ImportError("LiteRT is needed: pip install ai-edge-litert (or pip install -e '.[bench]')") from None
        self.interp = Interpreter(model_path=str(path), num_threads=NUM_THREADS)
        self.interp.allocate_tensors()
        inp, out = self.interp.get_input_details()[0], self.interp.get_output_details()[0]
        expected = (1, NUM_FRAMES, NUM_MFCC, 1)
        if tuple(inp["shape"]) != expected or inp["dtype"] != np.int8:
            raise ValueError(f"expected int8 input {expected}, got {inp['dtype'].__name__} {tuple(inp['shape'])}")
        self.in_index, self.out_index = inp["index"], out["index"]
        self.scale, self.zero_point = inp["quantization"]
        self.out_scale, self.out_zero_point = out["quantization"]

    def quantize(self, features: np.ndarray) -> np.ndarray:
        q = np.trunc(features / np.float32(self.scale) + self.zero_point)
        return np.clip(q, -128, 127).astype(np.int8).reshape(1, NUM_FRAMES, NUM_MFCC, 1)

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Dequantised output (probabilities) for one [NUM_FRAMES, NUM_MFCC] feature map."""
        self.interp.set_tensor(self.in_index, self.quantize(features))
        self.interp.invoke()
        raw = self.interp.get_tensor(self.out_index)[0].astype(np.float32)
        return (raw - self.out_zero_point) * self.out_scale


def model_labels(peers: Path) -> list:
    names = (peers / LABELS_FILE).read_text().split()
    return [MODEL_TO_DATA_LABEL.get(n, n) for n in names]
