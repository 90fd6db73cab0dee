"""Speech clips with phone timings for the character measurements (tests/blender/characters.py),
and the model's curves of each clip, predicted once and cached.

A clip is a .wav with its phones (symbol, start_s, end_s) in one of the notations that
``inference.articulation`` reads (``"ipa"`` for the demo clips' ``.phones.json`` from Piper /
Open JTalk, ``"arpabet"`` and ``"openjtalk"`` for the held-out JSONs). Every notation is turned
into the internal phone set by ``inference.articulation.normalize`` (diphthongs split in time),
and the measured classes come from ``inference.articulation.phone_class``, in ONE place
(:data:`CLASSES`): p/b/m = "bilabial" (plain or palatalised p b m), open vowels = "open_vowel",
rounded vowels = "rounded_vowel", f/v = "labiodental".

Sources: the demo clips (``assets/demo/speech_{en,ja}.wav`` + ``.phones.json``), or a held-out
set: a ``manifest.jsonl`` (one line per clip: ``id``, ``path`` of the .wav, ``json`` of its phones,
``lang``, ``split``), a folder holding one, or a folder of ``*.json`` files with ``phones`` next
to their ``.wav``.

Curves: ``python -m inference predict WAV -o X.json --model RUNTIME``, the command users run,
cached under ``cache/<fingerprint>/<clip id>-<path hash>.json`` so a rerun (another character,
another preset) never predicts twice; a changed model file or changed inference code gives
another fingerprint. Or, with :func:`target_curves_for`, the training targets of the clip's own
phones (``inference.articulation``): what a model that learnt its targets exactly would give,
the ceiling of what the characters can show through the retargeting and the scene's frames.

Imports: standard library, numpy, soundfile (a clip's length), lipsync_core (curves, params) and
inference.articulation (no torch, no bpy).
"""
from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from inference.articulation import curves_from_segments, normalize, phone_class  # noqa: E402
from lipsync_core.curves import Curves, read_curves, write_curves  # noqa: E402
from lipsync_core.params import FRAME_RATE_HZ, PARAM_NAMES  # noqa: E402

log = logging.getLogger(__name__)

# measured class -> inference.articulation evaluation class
CLASSES = {"pbm": "bilabial", "open": "open_vowel", "round": "rounded_vowel",
           "fv": "labiodental"}
DEFAULT_RUNTIME = ROOT / "assets" / "runtime"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "lipsync-character-curves"


@dataclass(frozen=True)
class Clip:
    id: str
    lang: str                                  # "en" | "ja"
    wav: Path
    segments: tuple                            # ((internal phone, start_s, end_s), ...)
    split: str = "demo"
    timed: tuple = field(default=(), compare=False)   # normalize's Segments (for the targets)


def classes_of(phone: str) -> list[str]:
    """The measured classes (keys of :data:`CLASSES`) an internal phone belongs to."""
    found = phone_class(phone)
    return [name for name, cls in CLASSES.items() if cls in found]


def _clip(clip_id: str, lang: str, wav: Path, phones_doc: dict, split: str) -> Clip:
    notation = phones_doc.get("notation")
    if notation is None:
        raise ValueError(f"{clip_id}: its phones file has no 'notation' (arpabet, ipa or "
                         "openjtalk); add one.")
    segs = normalize(phones_doc["phones"], notation, lang)
    return Clip(clip_id, lang, wav, tuple((s.phone, s.start, s.end) for s in segs), split,
                tuple(segs))


def demo_clip(lang: str) -> Clip:
    """assets/demo/speech_<lang>.wav with its .phones.json."""
    wav = ROOT / "assets" / "demo" / f"speech_{lang}.wav"
    doc = json.loads(wav.with_suffix(".phones.json").read_text(encoding="utf-8"))
    return _clip(f"demo_{lang}", lang, wav, doc, "demo")


def load_clips(source: Path, splits: tuple[str, ...] | None = None) -> list[Clip]:
    """Clips of a manifest.jsonl, a folder holding one, or a folder of phone-timed JSONs
    (module docstring); only ``splits`` when given."""
    source = Path(source)
    manifest = source / "manifest.jsonl" if source.is_dir() else source
    clips = []
    if manifest.is_file():
        base = manifest.parent
        for n, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            if "json" not in rec or "path" not in rec:
                raise ValueError(f"{manifest} line {n} has no 'path'/'json'; each line needs the "
                                 ".wav and its phone-timings JSON.")
            doc = json.loads((base / rec["json"]).read_text(encoding="utf-8"))
            clips.append(_clip(rec["id"], rec.get("lang") or doc["lang"], base / rec["path"],
                               doc, rec.get("split") or doc.get("split") or "-"))
    elif source.is_dir():
        for path in sorted(source.rglob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            wav = path.with_suffix(".wav")
            if isinstance(doc, dict) and "phones" in doc and wav.is_file():
                clips.append(_clip(doc.get("id", path.stem), doc["lang"], wav, doc,
                                   doc.get("split", "-")))
    else:
        raise FileNotFoundError(f"{source} is neither a manifest.jsonl nor a folder; give the "
                                "held-out folder or its manifest.")
    if splits:
        clips = [c for c in clips if c.split in splits]
    if not clips:
        raise ValueError(f"No clips with phone timings in {source}"
                         + (f" for split(s) {', '.join(splits)}" if splits else "") + ".")
    return clips


# lipsync_core modules that only key a rig from curves: ``predict`` never imports them
# (test_speech_clips checks), so editing the retargeting does not re-predict every clip
KEYING_ONLY = ("keyplan", "livelink", "mapping", "retarget", "rig_names", "viseme_solve")


def runtime_fingerprint(runtime: Path) -> str:
    """A short hash of the model (the runtime folder's file names, sizes and mtimes, or a
    checkpoint's) and of the code that turns audio into curves (the text of every .py file of
    inference/, lipsync_runtime/ and lipsync_core/ but KEYING_ONLY), so changed code never
    reads stale curves."""
    runtime = Path(runtime).resolve()
    files = sorted(runtime.rglob("*")) if runtime.is_dir() else [runtime]
    h = hashlib.sha1(str(runtime).encode())
    for f in files:
        if f.is_file():
            st = f.stat()
            h.update(f"{f.relative_to(runtime.parent)}:{st.st_size}:{st.st_mtime_ns}".encode())
    for package in ("inference", "lipsync_runtime", "lipsync_core"):
        for f in sorted((ROOT / package).rglob("*.py")):
            if package != "lipsync_core" or f.stem not in KEYING_ONLY:
                h.update(f.read_bytes())
    return h.hexdigest()[:12]


def curves_for(clip: Clip, runtime: Path = DEFAULT_RUNTIME, cache: Path = DEFAULT_CACHE,
               start: float | None = None, end: float | None = None,
               fps: float | None = None) -> Path:
    """The model's curves of ``clip`` (JSON; the whole file at the model's 50 fps, or the
    ``start``..``end`` seconds at ``fps`` as Generate asks the worker), predicted once, cached."""
    key = hashlib.sha1(str(clip.wav.resolve()).encode()).hexdigest()[:8]
    request = [] if start is None and end is None and fps is None else \
        ["--start", f"{start or 0.0:.6f}", "--end", f"{end:.6f}", "--fps", f"{fps:g}"]
    if request:
        key += "-" + hashlib.sha1(" ".join(request).encode()).hexdigest()[:8]
    out = Path(cache) / runtime_fingerprint(runtime) / f"{clip.id}-{key}.json"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "inference", "predict", str(clip.wav), "-o", str(out),
           "--model", str(runtime), *request]
    proc = subprocess.run(cmd, cwd=str(ROOT), capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not out.is_file():
        raise RuntimeError(f"predict failed on {clip.wav}: {proc.stderr.strip()[-400:]}")
    log.info("%s", proc.stdout.strip())
    return out


def target_curves_for(clip: Clip, cache: Path = DEFAULT_CACHE) -> Path:
    """The articulation targets of ``clip``'s phones as a curves JSON (the model's 50 fps, the
    whole file, with the articulatory lead the training targets have), written once into
    ``cache/targets-<hash of inference/articulation's code>/``."""
    import soundfile
    code = hashlib.sha1()
    for path in sorted((ROOT / "inference" / "articulation").glob("*.py")):
        code.update(path.read_bytes())
    out = Path(cache) / f"targets-{code.hexdigest()[:12]}" / f"{clip.id}.json"
    if out.is_file():
        return out
    if not clip.timed:
        raise ValueError(f"{clip.id} has no phone timings; load it with load_clips or "
                         "demo_clip.")
    duration = soundfile.info(str(clip.wav)).duration              # seconds of the file
    frames = curves_from_segments(clip.timed, FRAME_RATE_HZ, duration)   # (N, 26) at 50 fps
    out.parent.mkdir(parents=True, exist_ok=True)
    write_curves(out, Curves(FRAME_RATE_HZ, 0.0, PARAM_NAMES, frames,
                             {"name": "articulation targets", "source": "inference.articulation"}))
    return out


def curve_values(curves_path: Path, start: float, end: float, peak: str) -> dict[str, float]:
    """mouth_close and jaw_open of the curves (the model's samples) inside [start, end] s, at
    the sample where ``peak`` ("mouth_close" or "jaw_open") is highest (the nearest sample if
    none is inside)."""
    c = read_curves(curves_path)
    t = c.times()
    close, jaw = c.column("mouth_close"), c.column("jaw_open")
    inside = np.flatnonzero((t >= start) & (t <= end))
    if not len(inside):
        inside = np.array([int(np.argmin(np.abs(t - (start + end) / 2)))])
    col = close if peak == "mouth_close" else jaw
    k = inside[int(np.argmax(col[inside]))]
    return {"t": round(float(t[k]), 3), "mouth_close": round(float(close[k]), 3),
            "jaw_open": round(float(jaw[k]), 3)}


__all__ = ["Clip", "CLASSES", "classes_of", "demo_clip", "load_clips", "curves_for",
           "curve_values", "runtime_fingerprint", "DEFAULT_RUNTIME", "DEFAULT_CACHE"]
