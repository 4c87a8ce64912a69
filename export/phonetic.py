"""Words that sound like a wake phrase, for hard negatives: the phrase's own words alone, dictionary
words whose espeak-ng pronunciation is a few phonemes away from the phrase or one of its words, and
the phrase with one word swapped for such a word ("smart mirror" -> "smart river", "start mirror").

The dictionary is the system word list (Debian ``wamerican``: /usr/share/dict/words); its espeak-ng
IPA transcription is made once (about a second for 70,000 words) and cached.
"""
from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import numpy as np

from .tts import CACHE

WORD_LIST = Path("/usr/share/dict/words")
_STRIP = re.compile(r"[ˈˌːˑ‿\-\s]")  # stress, length and linking marks: not phonemes


def phonemize(texts: list, voice: str = "") -> list:
    """espeak-ng IPA of each text (one line each), stress and length marks removed; `voice` an
    espeak-ng voice (default: its own, British English)."""
    if not texts:
        return []
    out = subprocess.run(["espeak-ng", "-q", *(["-v", voice] if voice else []), "--ipa", "--stdin"], input="".join(f"{t}.\n" for t in texts),
                         capture_output=True, text=True, check=True, timeout=600).stdout.splitlines()
    out = [line for line in out if line.strip()]
    if len(out) != len(texts):
        raise RuntimeError(f"espeak-ng gave {len(out)} transcriptions for {len(texts)} texts")
    return [_STRIP.sub("", line) for line in out]


def dictionary(word_list: Path = WORD_LIST, limit: int = 0) -> dict:
    """{word: ipa} for the plain lower-case words of the system word list (cached); limit > 0 keeps
    an evenly spread `limit` of them (quick runs: espeak-ng takes ~1 ms a word)."""
    if not word_list.is_file():
        raise FileNotFoundError(f"{word_list}: no word list (install Debian's wamerican) for confusable words")
    words = sorted({w for w in word_list.read_text(errors="ignore").split() if re.fullmatch(r"[a-z]{2,12}", w)})
    if 0 < limit < len(words):
        words = words[::-(-len(words) // limit)]
    key = hashlib.sha256("\n".join(words).encode()).hexdigest()[:16]
    cache = CACHE / f"dict-ipa-{key}.tsv"
    if cache.exists():
        return dict(line.split("\t") for line in cache.read_text().splitlines())
    ipa = phonemize(words)
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_text("".join(f"{w}\t{p}\n" for w, p in zip(words, ipa)))
    return dict(zip(words, ipa))


def distance(a: str, b: str) -> int:
    """Levenshtein distance between two phoneme strings."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def near_words(target: str, lexicon: dict, n: int, min_share: float = 0.2, max_share: float = 0.6) -> list:
    """The n words whose pronunciation is closest to `target` (IPA), at a distance of at least
    min_share of its length (nearer is a homophone: it would teach the model to reject the phrase
    itself) and at most max_share."""
    lo, hi = max(1, int(np.ceil(min_share * len(target)))), int(max_share * len(target)) + 1
    scored = []
    for word, ipa in lexicon.items():
        if abs(len(ipa) - len(target)) >= hi:
            continue
        d = distance(ipa, target)
        if lo <= d < hi:
            scored.append((d / max(len(ipa), len(target)), word))
    return [w for _, w in sorted(scored)[:n]]


def confusables(phrase: str, n: int = 60, lexicon: dict = None) -> list:
    """Texts that sound like `phrase` but are not it."""
    words = phrase.lower().split()
    lexicon = dictionary() if lexicon is None else lexicon
    whole, parts = phonemize([phrase] + words)[0], phonemize(words)
    out = list(words) if len(words) > 1 else []  # a multi-word phrase's words alone must not fire
    out += near_words(whole, lexicon, n)
    if len(words) > 1:
        per_word = max(2, n // (2 * len(words)))
        for i, ipa in enumerate(parts):
            for w in near_words(ipa, lexicon, per_word, min_share=0.25):
                out.append(" ".join(words[:i] + [w] + words[i + 1:]))
    joined = "".join(words)
    return list(dict.fromkeys(t for t in out if joined not in t.replace(" ", "")))  # "computers" holds "computer"


def random_phrases(n: int, rng: np.random.Generator, lexicon: dict = None, max_words: int = 4) -> list:
    """n random sequences of 1..max_words dictionary words: general speech for negatives."""
    lexicon = dictionary() if lexicon is None else lexicon
    words = sorted(lexicon)
    return [" ".join(words[i] for i in rng.integers(len(words), size=rng.integers(1, max_words + 1))) for _ in range(n)]


# espeak-ng IPA (stress and length marks removed) -> ARPAbet, longest symbol first: for words
# pocketsphinx's dictionary (CMUdict) lacks, so the verifier (edge/verify.py) can spell them.
_IPA_ARPABET = sorted({
    "eɪ": "EY", "aɪ": "AY", "ɔɪ": "OY", "aʊ": "AW", "oʊ": "OW", "əʊ": "OW", "tʃ": "CH", "dʒ": "JH", "ɜ": "ER", "ɝ": "ER",
    "ɚ": "ER", "iə": "IY AH", "eə": "EH R", "ʊə": "UH R", "i": "IY", "ɪ": "IH", "ᵻ": "IH", "e": "EH", "ɛ": "EH", "æ": "AE",
    "a": "AA", "ɑ": "AA", "ɒ": "AA", "ɔ": "AO", "o": "OW", "ʊ": "UH", "u": "UW", "ʌ": "AH", "ə": "AH", "ɐ": "AH",
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "ɡ": "G", "f": "F", "v": "V", "θ": "TH", "ð": "DH",
    "s": "S", "z": "Z", "ʃ": "SH", "ʒ": "ZH", "h": "HH", "m": "M", "n": "N", "ŋ": "NG", "l": "L", "ɫ": "L", "ɹ": "R",
    "r": "R", "ɾ": "T", "ʔ": "T", "j": "Y", "w": "W", "x": "K", "ç": "HH",
}.items(), key=lambda kv: -len(kv[0]))


def ipa_to_arpabet(ipa: str) -> str:
    """ARPAbet of an espeak-ng IPA string; symbols it does not know are left out."""
    out, i = [], 0
    while i < len(ipa):
        for sym, arpa in _IPA_ARPABET:
            if ipa.startswith(sym, i):
                out.append(arpa)
                i += len(sym)
                break
        else:
            i += 1
    return " ".join(out)


def arpabet(phrase: str) -> dict:
    """{word: ARPAbet} of each word of the phrase: CMUdict's (pocketsphinx's dictionary) if it has
    the word, else espeak-ng's US English IPA mapped to ARPAbet ("snowboy": S N OW B OY)."""
    from pocketsphinx import Decoder

    dec = Decoder(lm=None, loglevel="ERROR")
    words = list(dict.fromkeys(phrase.lower().split()))
    known = {w: dec.lookup_word(w) for w in words}
    unknown = [w for w in words if not known[w]]
    for w, ipa in zip(unknown, phonemize(unknown, voice="en-us")):
        known[w] = ipa_to_arpabet(ipa)
        if not known[w]:
            raise ValueError(f"no pronunciation for {w!r} (espeak-ng said {ipa!r})")
    return known
