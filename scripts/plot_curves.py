"""Plot mouth curves under the speech waveform: ``out/curves.png``.

Top lane: the waveform, with phone labels and boundaries when a phones file is given
(``{"phones": [[symbol, start_s, end_s], ...]}``, as scripts/make_demo_speech.py writes). Under
it, one lane per curve. The curves come from a ``lipsync-curves/1`` file (.json, .csv, .npz;
lanes named by parameter, signed ones drawn on [-1, 1]) or from a .blend (the shape-key values
of the face, frame by frame; lanes named by shape key; the audio defaults to its sound strip).

Usage:
    .venv/bin/python scripts/plot_curves.py --curves out/demo.curves.json \
        --audio assets/demo/speech_en.wav [--phones assets/demo/speech_en.phones.json] \
        [--out out/curves.png] [--params jaw_open,lip_pucker]
    .venv/bin/python scripts/plot_curves.py --curves out/demo.blend --out out/curves.png

Imports: numpy, soundfile, matplotlib (Agg), lipsync_core; bpy only for a .blend.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lipsync_core import params as schema  # noqa: E402
from lipsync_core.curves import CurvesError, read_curves  # noqa: E402

LOG = logging.getLogger(__name__)

DEFAULT_PARAMS = ["jaw_open", "mouth_open", "mouth_close", "lip_pucker", "lip_funnel",
                  "lip_roll_lower", "lip_stretch_left", "lip_stretch_right"]
DEFAULT_KEYS = ["jawOpen", "mouthClose", "mouthPucker", "mouthFunnel", "mouthRollLower",
                "mouthLowerDownLeft", "mouthUpperUpLeft", "mouthStretchLeft", "mouthSmileLeft"]
SILENCES = {"sil", "pau", "sp", "spn", ""}


@dataclass
class Lanes:
    times: np.ndarray        # (N,) seconds into the audio
    names: list[str]         # one per lane
    values: np.ndarray       # (N, lanes)
    signed: list[bool]       # lane drawn on [-1, 1]
    audio: Path | None       # default audio (a .blend's sound strip)
    source: str              # for the title


def lanes_from_curves(path: Path, wanted: list[str] | None) -> Lanes:
    curves = read_curves(path)
    names = wanted or DEFAULT_PARAMS
    unknown = [n for n in names if n not in curves.params]
    if unknown:
        raise SystemExit(f"Unknown parameter(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(schema.PARAM_NAMES)}.")
    values = np.stack([curves.column(n) for n in names], axis=1)
    signed = [schema.BY_NAME[n].signed for n in names]
    model = curves.model.get("name") or curves.model.get("architecture") or ""
    return Lanes(curves.times(), names, values, signed, None,
                 f"{path.name}  {curves.fps:g} fps" + (f"  {model}" if model else ""))


def lanes_from_blend(path: Path, wanted: list[str] | None, object_name: str | None) -> Lanes:
    """Shape-key values of the face, sampled at every scene frame."""
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="lipsync-blender-"))
    import bpy
    bpy.ops.wm.open_mainfile(filepath=str(path.resolve()))
    scene = bpy.context.scene
    face = bpy.data.objects.get(object_name or "Face")
    if face is None or face.type != "MESH" or face.data.shape_keys is None:
        raise SystemExit(f"{path.name} has no mesh {object_name or 'Face'!r} with shape keys; "
                         "pass --object with the face's name.")
    blocks = face.data.shape_keys.key_blocks
    names = [n for n in (wanted or DEFAULT_KEYS) if n in blocks]
    if not names:
        raise SystemExit(f"None of the shape keys {wanted or DEFAULT_KEYS} is on {face.name}.")
    fps = scene.render.fps / scene.render.fps_base
    start, audio = scene.frame_start, None
    se = scene.sequence_editor
    if se is not None:
        strips = se.strips_all if hasattr(se, "strips_all") else se.sequences_all
        sounds = [s for s in strips if s.type == "SOUND"]
        if sounds:
            strip = sounds[0]
            start = strip.frame_start
            audio = Path(bpy.path.abspath(strip.sound.filepath, library=strip.sound.library))
    frames = np.arange(scene.frame_start, scene.frame_end + 1)
    values = np.zeros((len(frames), len(names)))
    for i, f in enumerate(frames):
        scene.frame_set(int(f))
        values[i] = [blocks[n].value for n in names]
    return Lanes((frames - start) / fps, names, values, [False] * len(names), audio,
                 f"{path.name}  {face.name}  {fps:g} fps")


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf
    if not path.is_file():
        raise SystemExit(f"The audio file {path} does not exist; pass --audio with the speech.")
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return audio.mean(axis=1), int(rate)       # (samples,) mono, Hz


def read_phones(path: Path) -> list[tuple[str, float, float]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(str(p[0]), float(p[1]), float(p[2])) for p in data["phones"]]


def plot(lanes: Lanes, audio: tuple[np.ndarray, int] | None, phones, out: Path,
         title: str | None = None) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    end = float(lanes.times[-1]) if len(lanes.times) else 0.0
    if audio is not None:
        end = max(end, len(audio[0]) / audio[1])
    n = len(lanes.names)
    fig, axes = plt.subplots(n + 1, 1, sharex=True, figsize=(11, 1.6 + 0.62 * n),
                             gridspec_kw={"height_ratios": [2.2] + [1] * n})
    wave = axes[0]
    if audio is not None:
        samples, rate = audio
        t = np.arange(len(samples)) / rate
        step = max(1, len(samples) // 20000)          # enough points for the figure
        wave.plot(t[::step], samples[::step], color="0.35", lw=0.5)
        peak = float(np.max(np.abs(samples))) or 1.0
        wave.set_ylim(-1.25 * peak, 1.25 * peak)
    wave.set_yticks([])
    wave.set_ylabel("audio", rotation=0, ha="right", va="center", fontsize=8)
    for k, (symbol, start, stop) in enumerate(phones or []):
        if symbol in SILENCES:
            continue
        for ax in axes:
            ax.axvline(start, color="tab:blue", alpha=0.12, lw=0.6)
        y = 0.93 if k % 2 == 0 else 0.80
        wave.text((start + stop) / 2, y, symbol, transform=wave.get_xaxis_transform(),
                  ha="center", va="center", fontsize=7, color="tab:blue")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (ax, name) in enumerate(zip(axes[1:], lanes.names)):
        ax.plot(lanes.times, lanes.values[:, i], color=colours[i % len(colours)], lw=1.2)
        low = -1.0 if lanes.signed[i] else 0.0
        ax.set_ylim(low - 0.05, 1.05)
        ax.axhline(0.0, color="0.8", lw=0.5)
        ax.set_yticks([low, 1.0])
        ax.tick_params(axis="y", labelsize=6)
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    axes[-1].set_xlim(0.0, end)
    axes[-1].set_xlabel("seconds")
    fig.suptitle(title or lanes.source, fontsize=9)
    fig.tight_layout(h_pad=0.15)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--curves", type=Path, required=True,
                        help="lipsync-curves/1 file (.json/.csv/.npz) or a lip-synced .blend")
    parser.add_argument("--audio", type=Path, default=None, help="the speech (WAV, FLAC...)")
    parser.add_argument("--phones", type=Path, default=None, help="phone timings (.phones.json)")
    parser.add_argument("--out", type=Path, default=Path("out/curves.png"))
    parser.add_argument("--params", default=None,
                        help="comma-separated parameter (or shape-key) names to draw")
    parser.add_argument("--object", default=None, help="face object in a .blend (default Face)")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    wanted = [p.strip() for p in args.params.split(",") if p.strip()] if args.params else None
    if not args.curves.is_file():
        raise SystemExit(f"{args.curves} does not exist; run the lip-sync first.")
    if args.curves.suffix.lower() == ".blend":
        lanes = lanes_from_blend(args.curves, wanted, args.object)
    else:
        try:
            lanes = lanes_from_curves(args.curves, wanted)
        except CurvesError as exc:
            raise SystemExit(str(exc)) from None
    audio_path = args.audio or lanes.audio
    audio = read_audio(audio_path) if audio_path is not None else None
    phones = read_phones(args.phones) if args.phones else None
    print(plot(lanes, audio, phones, args.out, args.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
