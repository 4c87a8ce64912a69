"""The phone recognizer behind the wake-word verifier (edge/verify.py, engine ``phones``).

A small CTC model over the runtime's log-mel (each band's mean over the segment taken out) spells
ARPAbet phones, one output per 20 ms. It learns from synthesized speech only: random sequences of
one to three words of the system word list, said by every offline voice here (espeak-ng voices and
variants, flite, festival, hibari, Piper and Kokoro, some of them in other English accents; never
mbrola), each labelled with espeak-ng's IPA of the words in the voice's own accent, mapped to
ARPAbet. Every view is augmented: speed, up to half a second of silence either side, room
reverberation, synthetic noise (coloured, a hum or a tone) or the babble of other synthesized
speech at 0-40 dB SNR, a random microphone, a random equaliser, a level from -30 to +6 dB. No real
recording is trained on, so the recognizer knows nothing of the people it is measured on, and
nothing of any wake phrase: one recognizer verifies every phrase.

``edge-export phones -o OUT.onnx`` trains it (about 25 minutes on a 2-core CPU) and writes static
INT8 ONNX, its metadata (``edge_phones``: the phones in output order, the log-mel settings) and its
record: the corpus, the steps, the time, the phone error rate on held-out synthesized speech and,
where ``../shared/data`` is found, on real people's Speech Commands words.
"""
from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edge.features import LogMel, LogMelConfig
from edge.verify import PHONE_LIST, PHONES_METADATA, PHONES_MIN_SAMPLES, phone_features

from . import augment as A

BLANK = 0
INDEX = {p: i + 1 for i, p in enumerate(PHONE_LIST)}
OUTPUTS = len(PHONE_LIST) + 1
STRIDE = 2  # log-mel frames (10 ms) per output


@dataclass(frozen=True)
class PhoneConfig:
    """utterances: synthesized phrases (shares of the engines in ENGINE_SHARES). max_words: words per
    phrase. epochs, batch, lr (one-cycle peak): training. channels, dilations: the network (a strided
    convolution, then one residual depthwise-separable block per dilation). dev: utterances held out
    for the phone error rate (at most a fifth of them). seed: every draw. threads: synthesis and training threads."""

    utterances: int = 5000
    max_words: int = 3
    epochs: int = 15
    batch: int = 32
    lr: float = 3e-3
    channels: int = 192
    dilations: tuple = (1, 2, 4, 1, 2, 4)
    dev: int = 300
    seed: int = 0
    threads: int = 2

    def __post_init__(self):
        if self.utterances < 10 or self.epochs < 1 or self.batch < 1 or self.channels < 8 or not self.dilations:
            raise ValueError("phones: utterances >= 10, epochs >= 1, batch >= 1, channels >= 8 and some dilations needed")
        if self.dev < 1:
            raise ValueError(f"phones: dev must be at least 1, got {self.dev}")
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))


# shares of the utterances: espeak-ng, flite and festival, hibari, Piper, Kokoro
ENGINE_SHARES = {"espeak-ng": 0.4, "engines": 0.1, "hibari": 0.1, "piper": 0.2, "kokoro": 0.2}


def encode(arpabet: str) -> list:
    """Output indices of an ARPAbet string (unknown symbols left out)."""
    return [INDEX[p] for p in arpabet.split() if p in INDEX]


def spell(texts: list, accent: str) -> list:
    """ARPAbet of each text as espeak-ng says it in `accent` (IPA mapped; Scottish ʉ as u, ʍ as w)."""
    from .phonetic import ipa_to_arpabet, phonemize

    return [ipa_to_arpabet(p.replace("ʉ", "u").replace("ʍ", "w")) for p in phonemize(texts, voice=accent)]


def pronunciations(phrase: str) -> dict:
    """{word: ARPAbet} of each word of the phrase as the recognizer learned words: espeak-ng's en-us."""
    words = list(dict.fromkeys(phrase.lower().split()))
    return dict(zip(words, spell(words, "en-us")))


def _accent(voice) -> str:
    from . import tts

    if voice.engine == "espeak-ng":
        return voice.name.split("+")[0]
    if voice.engine in ("piper", "kokoro"):
        return tts.accent_of(voice)[1]
    return "en-us"  # flite's, festival's and hibari's voices are American (flite's awb reads with its US lexicon)


def corpus_plan(cfg: PhoneConfig) -> list:
    """[(text, voice, ARPAbet)] of the corpus, before synthesis."""
    from . import tts
    from .phonetic import dictionary, random_phrases

    rng = np.random.default_rng(1000 + cfg.seed)
    n = {k: int(round(v * cfg.utterances)) for k, v in ENGINE_SHARES.items()}
    n["espeak-ng"] += cfg.utterances - sum(n.values())
    names = tts.espeak_voices()
    if not names:
        raise FileNotFoundError("espeak-ng is not installed: the phone recognizer's labels and voices need it")
    engines = tts.engine_voices()
    voices = tts.espeak_draws(rng, n["espeak-ng"], names)
    voices += [engines[i] for i in rng.integers(len(engines), size=n["engines"])] if engines else tts.espeak_draws(rng, n["engines"], names)
    voices += tts.hibari_voices(rng, n["hibari"])
    voices += tts.with_accents(tts.neural_voices(rng, n["piper"], n["kokoro"]), rng, 0.3)
    texts = random_phrases(len(voices), rng, dictionary(), max_words=cfg.max_words)
    accents = [_accent(v) for v in voices]
    labels = [""] * len(texts)
    for a in sorted(set(accents)):
        idx = [i for i, x in enumerate(accents) if x == a]
        for i, p in zip(idx, spell([texts[i] for i in idx], a)):
            labels[i] = p
    return list(zip(texts, voices, labels))


def synthesize_corpus(plan: list, threads: int = 2, progress: bool = True) -> list:
    """[(audio, ARPAbet, engine)] of the plan's utterances that synthesized and fit CTC (enough frames for their phones)."""
    from .tts import synthesize

    def one(item):
        text, voice, _ = item
        try:
            return synthesize(text, voice)
        except Exception as e:  # one voice failing one text costs one utterance, not the corpus
            print(f"phones: {voice.engine} could not say {text!r}: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
            return None

    out, t0 = [], time.time()
    with ThreadPoolExecutor(threads) as ex:
        for k, (x, (_, voice, label)) in enumerate(zip(ex.map(one, plan), plan)):
            if x is not None and encode(label) and len(x) // (160 * STRIDE) > 2 * len(encode(label)) + 2:
                out.append((x.astype(np.float32), label, voice.engine))
            if progress and (k + 1) % 500 == 0:
                print(f"phones: synthesized {k + 1}/{len(plan)} ({time.time() - t0:.0f} s)", file=sys.stderr)
    return out


def synthetic_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Coloured noise (a spectral slope of -2 to +0.5 in log power per log frequency), half the time
    quieter under a hum or a tone of 50 Hz-3 kHz."""
    f = np.fft.rfftfreq(n, 1 / 16000)
    y = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * np.maximum(f, 20.0) ** (rng.uniform(-2.0, 0.5) / 2), n)
    if rng.random() < 0.5:
        y = y / (A.rms(y) + 1e-9) / 100 + 0.5 * rng.random() * np.sin(2 * np.pi * rng.uniform(50, 3000) * np.arange(n) / 16000)
    return y.astype(np.float32)


def babble(n: int, rng: np.random.Generator, pool: list) -> np.ndarray:
    """One to three other synthesized utterances, looped to n samples, at equal level."""
    y = np.zeros(n, np.float32)
    for _ in range(rng.integers(1, 4)):
        x = pool[rng.integers(len(pool))][0]
        x = np.tile(x, 1 + n // len(x))[:n]
        y += x / (A.rms(x) + 1e-6)
    return y


def view(x: np.ndarray, rng: np.random.Generator, pool: list) -> np.ndarray:
    """One augmented view of an utterance (the module's text)."""
    x = A.change_speed(x, rng.uniform(0.85, 1.15))
    x = np.concatenate([np.zeros(rng.integers(0, 8000), np.float32), x, np.zeros(rng.integers(0, 8000), np.float32)])
    if rng.random() < 0.5:
        x = A.reverberate(x, A.room_response(rng, rng.uniform(0.15, 0.8)))
    if rng.random() < 0.85:
        noise = babble(len(x), rng, pool) if rng.random() < 0.3 else synthetic_noise(len(x), rng)
        x = A.add_noise(x, noise, rng.uniform(0, 30) if rng.random() < 0.7 else rng.uniform(10, 40))
    if rng.random() < 0.6 and A.rms(x) > 1e-5:
        x = A.colour(x, rng)
    if rng.random() < 0.3 and A.rms(x) > 1e-5:
        x = A.equalise(x, rng)
    x = x * 10 ** (rng.uniform(-30, 6) / 20) / (np.abs(x).max() + 1e-6)
    return np.clip(x, -1, 1).astype(np.float32)


def make_net(cfg: PhoneConfig, n_mels: int):
    import torch.nn as nn

    class PhoneNet(nn.Module):
        """[batch, n_mels, frames] log-mel -> [batch, outputs, frames / 2] log-probabilities."""

        def __init__(self):
            super().__init__()
            ch = cfg.channels
            self.inp = nn.Sequential(nn.Conv1d(n_mels, ch, 5, stride=STRIDE, padding=2), nn.BatchNorm1d(ch), nn.ReLU())
            self.blocks = nn.ModuleList(nn.Sequential(nn.Conv1d(ch, ch, 5, padding=2 * d, dilation=d, groups=ch), nn.Conv1d(ch, ch, 1),
                                                      nn.BatchNorm1d(ch), nn.ReLU()) for d in cfg.dilations)
            self.out = nn.Conv1d(ch, OUTPUTS, 1)

        def forward(self, f):
            import torch

            h = self.inp(f)
            for b in self.blocks:
                h = h + b(h)
            return torch.log_softmax(self.out(h), dim=1)

    return PhoneNet()


def greedy(logp: np.ndarray) -> list:
    """Best-path CTC decoding of logp [frames, outputs]: repeats merged, blanks dropped."""
    best = logp.argmax(axis=1)
    return [int(c) for k, c in enumerate(best) if c != BLANK and (k == 0 or c != best[k - 1])]


def phone_error_rate(logp_of, items: list) -> float:
    """Edit distance of the greedy decodings from the labels, over the labels' phones; items [(audio, ARPAbet)]."""
    from .phonetic import distance

    errors = total = 0
    for x, label in items:
        ref = encode(label)
        errors += distance(greedy(logp_of(x)), ref)
        total += len(ref)
    return round(errors / max(total, 1), 4)


def train(cfg: PhoneConfig, corpus: list, logmel: LogMel, progress: bool = True):
    """(the trained network, per-epoch history, dev items) from corpus [(audio, ARPAbet, engine)]."""
    import torch
    import torch.nn as nn

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    order, n_dev = rng.permutation(len(corpus)), max(1, min(cfg.dev, len(corpus) // 5))
    dev, tr = [corpus[i] for i in order[:n_dev]], [corpus[i] for i in order[n_dev:]]
    targets = [torch.tensor(encode(label)) for _, label, _ in tr]
    n_mels = logmel.cfg.n_mels

    def batch(ids):
        feats = [phone_features(logmel, view(tr[i][0], rng, tr)) for i in ids]
        frames = max(f.shape[1] for f in feats)
        X = np.zeros((len(ids), n_mels, frames), np.float32)
        for k, f in enumerate(feats):
            X[k, :, :f.shape[1]] = f
        return torch.from_numpy(X), torch.tensor([(f.shape[1] + STRIDE - 1) // STRIDE for f in feats]), [targets[i] for i in ids]

    net = make_net(cfg, n_mels)
    opt = torch.optim.AdamW(net.parameters(), cfg.lr, weight_decay=1e-2)
    per_epoch = max(1, len(tr) // cfg.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.epochs * per_epoch, pct_start=0.1)
    ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    history, t0 = [], time.time()
    dev_views = [(view(x, np.random.default_rng(cfg.seed + 7 + k), tr), label) for k, (x, label, _) in enumerate(dev)]

    def logp_of(x):
        with torch.no_grad():
            return net(torch.from_numpy(phone_features(logmel, x)[None]))[0].numpy().T

    for epoch in range(cfg.epochs):
        net.train()
        perm, total = rng.permutation(len(tr)), 0.0
        for b in range(per_epoch):
            X, lengths, ys = batch(perm[b * cfg.batch:(b + 1) * cfg.batch])
            logp = net(X)[:, :, :int(lengths.max())]
            loss = ctc(logp.permute(2, 0, 1), torch.cat(ys), lengths, torch.tensor([len(y) for y in ys]))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            sched.step()
            total += loss.item()
        net.eval()
        history.append({"epoch": epoch + 1, "loss": round(total / per_epoch, 4), "dev_per": phone_error_rate(logp_of, dev_views),
                        "seconds": round(time.time() - t0, 1)})
        if progress:
            print(f"phones: epoch {epoch + 1}/{cfg.epochs} loss {history[-1]['loss']:.3f}, phone error rate on held-out "
                  f"synthesized speech {history[-1]['dev_per']:.3f} ({history[-1]['seconds']:.0f} s)", file=sys.stderr)
    return net, history, dev_views


def real_words(root: Path, n: int = 400, seed: int = 0) -> list:
    """[(audio, ARPAbet)] of n Speech Commands word clips (real people), spelt by espeak-ng's en-us."""
    import csv

    from .data import load_audio

    folder = root / "speech_commands"
    with open(folder / "metadata.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["label"] != "_silence_"]
    rows = [rows[i] for i in np.random.default_rng(seed).choice(len(rows), min(n, len(rows)), replace=False)]
    words = [Path(r["path"]).name.split("_")[0] if r["label"] == "_unknown_" else r["label"] for r in rows]
    spelt = dict(zip(sorted(set(words)), spell(sorted(set(words)), "en-us")))
    return [(load_audio(folder / r["path"]), spelt[w]) for r, w in zip(rows, words)]


def export(net, out: Path, logmel: LogMel, calibration: list) -> dict:
    """Static INT8 ONNX of the network at `out` with its metadata; calibration: log-mel arrays."""
    import tempfile

    import torch

    from .quantize import QuantizeConfig, quantize

    net.eval()
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        torch.onnx.export(net, torch.zeros(1, logmel.cfg.n_mels, 200), str(fp32), input_names=["logmel"], output_names=["logp"],
                          dynamic_axes={"logmel": {2: "frames"}, "logp": {2: "steps"}}, opset_version=17, dynamo=False)
        frames = min(f.shape[1] for f in calibration)
        calib = np.stack([f[:, :frames] for f in calibration])
        step = quantize(fp32, out, QuantizeConfig(mode="static", per_channel=True, op_types=("Conv",)), calib, "logmel")
    import onnx

    m = onnx.load(str(out))
    m.metadata_props.add(key=PHONES_METADATA, value=json.dumps({"phones": list(PHONE_LIST), "logmel": logmel.cfg.to_dict(),
                                                                "stride": STRIDE, "min_samples": PHONES_MIN_SAMPLES}))
    onnx.save(m, str(out))
    return step


def build_phones(out: Path, cfg: PhoneConfig = PhoneConfig(), data_root: Path = None, overwrite: bool = False, progress: bool = True) -> dict:
    """Synthesize, train, export INT8 and write the record (module text); returns the record."""
    from edge.verify import PhoneScorer, VerifySpec

    from .record import check_writable, record_path, removed_on_error, write_record

    out = Path(out)
    if out.suffix != ".onnx":
        raise ValueError(f"{out}: the output must be an .onnx file")
    check_writable(out, record_path(out), overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    plan = corpus_plan(cfg)
    corpus = synthesize_corpus(plan, cfg.threads, progress)
    t_synth = time.time() - t0
    if len(corpus) < 10:
        raise ValueError(f"phones: only {len(corpus)} of {len(plan)} utterances synthesized; too few to train on")
    logmel = LogMel(LogMelConfig())
    net, history, dev_views = train(cfg, corpus, logmel, progress)
    t_train = time.time() - t0 - t_synth
    with removed_on_error(out, record_path(out)):
        calibration = [phone_features(logmel, x) for x, _ in dev_views[:100]]
        step = export(net, out, logmel, calibration)
        scorer = PhoneScorer(VerifySpec(label="x", phrase="x", pronunciations={"x": "AH"}, engine="phones"), out)
        checks = {"synthesized_dev_per": phone_error_rate(scorer.logp, dev_views)}
        real = Path(data_root) / "speech_commands" if data_root is not None else None
        if real is not None and (real / "metadata.csv").is_file():
            checks["real_speech_commands_per"] = phone_error_rate(scorer.logp, real_words(Path(data_root)))
            checks["real_speech_commands_words"] = 400
        engines = {}
        for _, _, e in corpus:
            engines[e] = engines.get(e, 0) + 1
        record = {"task": "phones", "config": asdict(cfg), "phones": list(PHONE_LIST),
                  "corpus": {"utterances": len(corpus), "planned": len(plan), "by_engine": engines,
                             "hours": round(sum(len(x) for x, _, _ in corpus) / 16000 / 3600, 3)},
                  "history": history, "quantize": step, "int8_checks": checks,
                  "seconds": {"synthesis": round(t_synth, 1), "training": round(t_train, 1), "total": round(time.time() - t0, 1)}}
        write_record(out, record)
    return record
