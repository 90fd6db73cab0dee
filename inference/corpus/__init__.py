"""Training corpora: speech with exact phone timings (TTS engines, forced alignment of real
speech, reference-labelled held-out clips) and capture data (Live Link Face CSV), all written in
one on-disk format described in :mod:`inference.corpus.format`.

Imports: numpy, soundfile, soxr, lipsync_core; each engine module imports its own engine lazily.
"""
