"""A second opinion on a wake word from a phone recognizer.

Two engines give it (``VerifySpec.engine``):

- ``phones``: our own CTC phone recognizer (``edge/models/_phones.onnx``, made by ``edge-export
  phones``), trained on synthesized speech of random dictionary words, knowing nothing of any
  wake phrase. Its score of a segment is the best alignment of the phrase's phones anywhere in it
  against the recognizer's best phone at each frame it spans, per phone of the phrase
  (``keyword_score``): near 0 where the phrase was said, lower the less it sounds like it.
  It needs nothing beyond the runtime's own onnxruntime.
- ``pocketsphinx``: pocketsphinx's US English acoustic model (shipped in its wheel; BSD-style
  licence, Carnegie Mellon University), trained on real people, with its keyphrase search.

Either errs differently from the wake-word model, which learned one phrase as a whole. When the
wake-word model's smoothed score rises to ``floor``, a *candidate* opens; it closes ``tail_s``
after the score last stood there or ``max_s`` after it opened (and then no other opens until the
score has fallen below the floor),
and the engine then scores the audio from ``lead_s`` before the candidate opened to its close
(pocketsphinx: the log of its best detection of the phrase against its phone loop, ``missing`` if it
finds none; phones: ``keyword_score``). The candidate's score is

    sigmoid(logit(peak of the model's smoothed score) + weight * max(keyphrase score, missing) + bias)

and an event fires when it reaches the threshold (``verify.threshold`` of the model's metadata,
or the stream's override), outside the refractory period. pocketsphinx runs only on candidates
(36-53 an hour of the benchmark's negative stream, about 40 ms each), so it adds little CPU; the
event comes when the candidate closes, a median 0.41 s after the end of speech on real alexa clips
(0.3-0.4 s later than the model alone would fire).

A model asks for this with a ``verify`` object in its metadata (``VerifySpec``); ``edge-export
wakeword --verify [--verify-engine phones]`` writes one. pocketsphinx is an optional dependency (``pip install
'edge-audio[verify]'``): it is one of the wake-word benchmark's peers, and issue 5 wants the peers
benchmark-only.
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .audio import SAMPLE_RATE

# ARPAbet phones of pocketsphinx's en-us acoustic model (stress-free, as its dictionary spells them),
# and, in this order after the CTC blank (0), the outputs of our phone recognizer
PHONE_LIST = tuple("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH".split())
PHONES = frozenset(PHONE_LIST)
PHONES_MODEL = "_phones"  # the shipped phone recognizer, edge/models/_phones.onnx
PHONES_METADATA = "edge_phones"  # its metadata entry: {"phones": [...], "logmel": {...}, "stride": 2, "min_samples": ...}
PHONES_MIN_SAMPLES = 4000  # a shorter segment is padded with silence to this
# each engine's settings of VerifySpec; the phones engine's calibrated in the thirty-second session
# (benchmarks/WAKEWORD.md, 'Our own phone recognizer as the second opinion')
ENGINE_DEFAULTS = {
    "pocketsphinx": {"threshold": 0.75, "weight": 16.0, "bias": 4.0, "missing": -4.0},
    "phones": {"threshold": 0.5, "weight": 1.5, "bias": 4.0, "missing": -2.5},
}
ENGINES = tuple(ENGINE_DEFAULTS)


def fuse(peak, keyphrase, weight: float, bias: float, missing: float):
    """The candidate's score of the module's text, for floats or numpy arrays alike: keyphrase
    None or NaN (no detection) counts as `missing`."""
    p = np.clip(peak, 1e-4, 1 - 1e-4)
    k = np.maximum(np.where(np.isnan(keyphrase), missing, keyphrase), missing)
    return 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) + weight * k + bias)))


def phone_features(logmel, audio: np.ndarray, min_samples: int = PHONES_MIN_SAMPLES) -> np.ndarray:
    """The phone recognizer's input [n_mels, frames]: the log-mel of the audio (padded with silence
    to min_samples), each band's mean over it taken out (the channel's colour). Training and the
    runtime share it."""
    x = np.asarray(audio, np.float32)
    if len(x) < min_samples:
        x = np.pad(x, (0, min_samples - len(x)))
    f = logmel(x)
    return f - f.mean(axis=-1, keepdims=True)


class VerifyError(ValueError):
    """Verification asked for and not possible: bad metadata, or pocketsphinx missing."""


@dataclass(frozen=True)
class VerifySpec:
    """label: the model's label verified; phrase: its words; pronunciations: {word: ARPAbet phones}
    for every word of the phrase. threshold: what a candidate's score needs. engine: phones or
    pocketsphinx (plp and ds are pocketsphinx's alone). The rest as in the module's text; the
    defaults are pocketsphinx's (ENGINE_DEFAULTS has the phones engine's)."""

    label: str
    phrase: str
    pronunciations: dict
    threshold: float = 0.75
    engine: str = "pocketsphinx"  # the engine of the models written before there were two
    floor: float = 0.1
    weight: float = 16.0
    bias: float = 4.0  # only moves the thresholds (a keyphrase score is near 0 for the phrase, up to +0.2 measured): 0.5 means logit -4
    missing: float = -4.0
    plp: float = 1e-10
    ds: int = 2  # pocketsphinx's frame downsampling: every other 10 ms frame scored, half the CPU of 1
    lead_s: float = 1.5
    tail_s: float = 0.3
    max_s: float = 0.6

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise VerifyError(f"verify: engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        words = self.phrase.split()
        if not words or set(words) - set(self.pronunciations):
            raise VerifyError(f"verify: every word of {self.phrase!r} needs a pronunciation, got {sorted(self.pronunciations)}")
        for w, p in self.pronunciations.items():
            bad = set(str(p).split()) - PHONES
            if not str(p).split() or bad:
                raise VerifyError(f"verify: pronunciation of {w!r} must be ARPAbet phones, got {p!r}")
        if not 0.0 < self.threshold <= 1.0 or not 0.0 < self.floor < 1.0:
            raise VerifyError(f"verify: threshold must be in (0, 1] and floor in (0, 1), got {self.threshold}, {self.floor}")
        if self.weight < 0 or self.missing > 0 or not 0 < self.plp < 1:
            raise VerifyError(f"verify: weight >= 0, missing <= 0 and plp in (0, 1) needed, got {self.weight}, {self.missing}, {self.plp}")
        if self.ds not in (1, 2, 3):
            raise VerifyError(f"verify: ds must be 1, 2 or 3, got {self.ds}")
        if self.lead_s < 0 or self.tail_s <= 0 or self.max_s <= 0:
            raise VerifyError(f"verify: lead_s >= 0, tail_s > 0 and max_s > 0 needed, got {self.lead_s}, {self.tail_s}, {self.max_s}")

    @property
    def history_samples(self) -> int:
        """Samples of audio the pipeline must keep for a candidate's segment."""
        return int(math.ceil((self.lead_s + self.max_s + self.tail_s + 0.2) * SAMPLE_RATE))

    def fused(self, peak: float, keyphrase: Optional[float]) -> float:
        return float(fuse(float(peak), np.nan if keyphrase is None else float(keyphrase), self.weight, self.bias, self.missing))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "VerifySpec":
        from .model import dataclass_from_dict

        return dataclass_from_dict(cls, d, "metadata 'verify'", VerifyError)


def pocketsphinx_decoder(missing: str):
    """pocketsphinx's Decoder class; VerifyError(missing) if pocketsphinx is not installed."""
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise VerifyError(missing) from None
    return Decoder


class KeyphraseScorer:
    """pocketsphinx keyphrase search of one phrase over a short segment: the log of its best
    detection's probability (the phrase's path against the phone loop: near 0 for the phrase, a
    little above at best, -0.07 and below on the benchmark's other speech), None if none."""

    def __init__(self, spec: VerifySpec):
        Decoder = pocketsphinx_decoder("this model is verified by pocketsphinx, which is not installed: "
                                       "pip install 'edge-audio[verify]' (or stream with verification off: --no-verify)")
        dec = Decoder(lm=None, loglevel="ERROR", kws_plp=spec.plp, ds=spec.ds)
        spelt = []
        for i, w in enumerate(spec.phrase.split()):
            name = f"w{i}_{w}"  # our own spelling, so CMUdict's entry of the word cannot differ from the metadata's
            dec.add_word(name, spec.pronunciations[w], False)
            spelt.append(name)
        with tempfile.NamedTemporaryFile("w", suffix=".kws", delete=False) as f:
            f.write(f"{' '.join(spelt)} /1e-80/\n")  # every detection, however weak: the score ranks them
        try:
            dec.add_kws("verify", f.name)
        finally:
            os.unlink(f.name)
        dec.activate_search("verify")
        self.dec, self.cmn0 = dec, dec.get_cmn(False)

    def __call__(self, audio: np.ndarray) -> Optional[float]:
        dec = self.dec
        dec.set_cmn(self.cmn0)  # each segment from the same start: the score of a segment is its own
        dec.start_utt()
        pcm = (np.clip(np.asarray(audio, np.float32), -1.0, 1.0) * 32767).astype(np.int16)
        for s in range(0, len(pcm), 512):
            dec.process_raw(pcm[s:s + 512].tobytes(), False, False)
        dec.end_utt()
        probs = [seg.prob for seg in dec.seg() or []]
        best = max(probs, default=0.0)
        return math.log(best) if best > 0 else None


def keyword_score(logp: np.ndarray, phones: list) -> float:
    """How well the phones (indices into the recognizer's outputs, 0 the CTC blank) fit anywhere in
    logp [frames, outputs] (log-probabilities): the best CTC alignment of the phones over some span
    of frames, summed over that span as log p(the aligned output) - log p(the frame's best output),
    the frames outside the span free. 0 when the recognizer's best path spells the phones there,
    below 0 otherwise. Viterbi over the phones' CTC states (blank, p1, blank, p2, ..., blank)."""
    labels = np.zeros(2 * len(phones) + 1, np.int64)
    labels[1::2] = phones
    gain = (logp - logp.max(axis=1, keepdims=True))[:, labels]  # [frames, states], <= 0
    n = len(labels)
    skip = np.zeros(n, bool)  # a phone may follow the phone before the blank between them, unless the two are the same
    skip[3::2] = labels[3::2] != labels[1:-2:2]
    low = -1e9
    alpha = np.full(n, low)
    best = low
    for g in gain:
        step = np.concatenate(([low], alpha[:-1]))
        jump = np.where(skip, np.concatenate(([low, low], alpha[:-2])), low)
        alpha = np.maximum(np.maximum(alpha, step), jump)
        alpha[:2] = np.maximum(alpha[:2], 0.0)  # the span may open at any frame, on the first blank or the first phone
        alpha = alpha + g
        best = max(best, alpha[-1], alpha[-2])  # and close after the last phone or its blank
    return float(best)


class PhoneScorer:
    """Our phone recognizer's score of the phrase in a segment (module text): keyword_score per
    phone of the phrase, the words' pronunciations joined. `path`: the recognizer (default the
    shipped one). Never None: the recognizer always gives a best alignment."""

    def __init__(self, spec: VerifySpec, path=None):
        import json

        import onnxruntime as ort

        from .features import LogMel, LogMelConfig
        from .model import session_options

        path = Path(path) if path is not None else resolve_phones()
        self.session = ort.InferenceSession(str(path), session_options(1), providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        if PHONES_METADATA not in meta:
            raise VerifyError(f"{path}: not a phone recognizer (no '{PHONES_METADATA}' metadata)")
        info = json.loads(meta[PHONES_METADATA])
        index = {p: i + 1 for i, p in enumerate(info["phones"])}
        self.phones = [index[p] for w in spec.phrase.split() for p in spec.pronunciations[w].split()]
        self.logmel = LogMel(LogMelConfig.from_dict(info["logmel"]))
        self.min_samples = int(info.get("min_samples", PHONES_MIN_SAMPLES))

    def logp(self, audio: np.ndarray) -> np.ndarray:
        """The recognizer's log-probabilities [frames, outputs] of a segment."""
        return self.session.run(None, {"logmel": phone_features(self.logmel, audio, self.min_samples)[None]})[0][0].T

    def __call__(self, audio: np.ndarray) -> Optional[float]:
        return keyword_score(self.logp(audio), self.phones) / len(self.phones)


def resolve_phones() -> Path:
    from importlib import resources

    path = resources.files("edge") / "models" / f"{PHONES_MODEL}.onnx"
    if not path.is_file():
        raise VerifyError(f"the shipped phone recognizer {PHONES_MODEL}.onnx is missing from edge/models (make it with edge-export phones)")
    return Path(str(path))


def make_scorer(spec: VerifySpec) -> Callable[[np.ndarray], Optional[float]]:
    """The scorer of the spec's engine."""
    return PhoneScorer(spec) if spec.engine == "phones" else KeyphraseScorer(spec)


class Candidates:
    """The candidate state machine of the module's text, for one label. ``process(score, t, audio)``
    with the label's smoothed score at stream time t (None: gate closed) and ``audio(start, end)``
    giving the stream's samples between two times; returns (start, end, candidate score) when a
    candidate closes, else None."""

    def __init__(self, spec: VerifySpec, scorer: Callable[[np.ndarray], Optional[float]]):
        self.spec, self.scorer = spec, scorer
        self.reset()

    def reset(self) -> None:
        self.open: Optional[list] = None  # [start time, last time at the floor, peak]
        self.armed = True  # False after a candidate closed by max_s, until the score falls below the floor

    def process(self, score: Optional[float], t: float, audio: Callable[[float, float], np.ndarray]):
        s, spec = (0.0 if score is None else float(score)), self.spec
        if self.open is None:
            if s < spec.floor:
                self.armed = True
            elif self.armed:
                self.open = [t, t, s]
            return None
        if s >= spec.floor:
            self.open[1], self.open[2] = t, max(self.open[2], s)
        if t - self.open[1] >= spec.tail_s - 1e-9:
            return self.close(t, audio)
        if t - self.open[0] >= spec.max_s - 1e-9:
            self.armed = False  # one candidate for one rise of the score
            return self.close(t, audio)
        return None

    def close(self, t: float, audio: Callable[[float, float], np.ndarray]):
        if self.open is None:
            return None
        start, _, peak = self.open
        self.open = None
        begin = max(0.0, start - self.spec.lead_s)
        return begin, t, self.spec.fused(peak, self.scorer(audio(begin, t)))

