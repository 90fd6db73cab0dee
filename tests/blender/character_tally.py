"""Pooled lip figures of many clips (tests/blender/characters.py): per (split, language,
character, preset) the p/b/m sealed, open vowels open, rounded vowels rounded, f/v with the lip
up, frames with the lips through each other, and every miss with the model's mouth_close /
jaw_open where the phone peaks and what its measured frame plays (the curves on the scene's
frames, as the add-on keys them); a Markdown table (which lists the p/b/m and open-vowel misses;
the JSON has them all).

Imports: speech_clips (standard library, numpy, lipsync_core); no bpy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from speech_clips import CLASSES, Clip, curve_values


@dataclass
class Tally:
    """Pooled figures of one (split, language, character, preset)."""
    counts: dict = field(default_factory=lambda: {c: [0, 0] for c in CLASSES})
    through: int = 0
    frames: int = 0
    clips: int = 0
    misses: list = field(default_factory=list)
    calibration: dict = field(default_factory=dict)   # the rig's lip gaps, mm (characters.Probe)

    def add(self, clip: Clip, res, curves: Path) -> list[dict]:
        """Pool one clip (a characters.Result); returns its misses (any class), each with the
        curves' mouth_close / jaw_open where the phone peaks (p/b/m: mouth_close, else jaw_open)
        and the measured frame's lip gap and mouth width."""
        self.clips += 1
        self.through += res.through
        self.frames += res.frames
        for cls, (ok, n) in res.per_class.items():
            self.counts[cls][0] += ok
            self.counts[cls][1] += n
        found = []
        for d in res.details:
            if d["passed"]:
                continue
            peak = "mouth_close" if d["class"] == "pbm" else "jaw_open"
            found.append({"clip": clip.id, **{k: d[k] for k in ("class", "phone", "frame")},
                          "start": round(d["start"], 3), "end": round(d["end"], 3),
                          "gap_mm": round(d["gap_mm"], 2), "width_mm": round(d["width_mm"], 2),
                          "curves": curve_values(curves, d["start"], d["end"], peak),
                          "played": {k: round(v, 3) for k, v in d["played"].items()}})
        self.misses += found
        return found

    def figures(self) -> dict:
        return {"pbm_sealed": self.counts["pbm"], "open_vowels_open": self.counts["open"],
                "rounded_vowels_rounded": self.counts["round"], "fv_lip_up": self.counts["fv"],
                "through_frames": self.through, "frames": self.frames, "clips": self.clips,
                "gap_mm": self.calibration}


def _pct(ok_n) -> str:
    ok, n = ok_n
    return f"{ok}/{n} ({100.0 * ok / n:.1f}%)" if n else "-"


def markdown(tallies: dict) -> str:
    """The pooled table and the list of misses, Markdown."""
    lines = ["| split | lang | character / preset | p/b/m sealed | open vowels open "
             "| rounded vowels rounded | f/v lip up | frames through each other | clips |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (split, lang, char, preset), t in sorted(tallies.items()):
        lines.append(f"| {split} | {lang} | {char} / {preset} | {_pct(t.counts['pbm'])} | "
                     f"{_pct(t.counts['open'])} | {_pct(t.counts['round'])} | "
                     f"{_pct(t.counts['fv'])} | {t.through} / {t.frames} | {t.clips} |")
    lines.append("")
    for (split, lang, char, preset), t in sorted(tallies.items()):
        for m in t.misses:
            if m["class"] not in ("pbm", "open"):
                continue
            c = m["curves"]
            what = "not sealed" if m["class"] == "pbm" else "not open"
            lines.append(f"- {split} {lang} {char}/{preset}: {m['clip']} /{m['phone']}/ "
                         f"{m['start']:.2f}-{m['end']:.2f} s {what} (gap {m['gap_mm']:+.2f} mm, "
                         f"frame {m['frame']}); curves at {c['t']:.2f} s: mouth_close "
                         f"{c['mouth_close']:.2f}, jaw_open {c['jaw_open']:.2f}; the frame plays "
                         f"mouth_close {m['played']['mouth_close']:.2f}, jaw_open "
                         f"{m['played']['jaw_open']:.2f}")
    return "\n".join(lines)
