"""The worker protocol: JSON Lines between the Blender add-on and ``python -m lipsync_runtime serve``
(also ``python -m inference serve``).

One JSON object per line on the worker's stdin (requests) and stdout (replies); logs go to
stderr only. Every message has a ``type``. Requests about a job carry the client's ``id``.

client -> worker
  {"type": "predict", "id": "j1", "audio": "/path.wav", "start": 0.0 | null, "end": 2.5 | null,
   "fps": 24.0 | null, "inline_max_frames": 20000}
      start/end in seconds of the file (a strip's trims); fps null means the model's 50 Hz.
  {"type": "cancel", "id": "j1"}
  {"type": "shutdown"}

worker -> client
  {"type": "hello", "protocol": 1, "schema_version": 1, "device": "CPU (onnxruntime 1.32.0)",
   "model": {...model summary, with "identity"...}, "params": [26 names],
   "providers": ["CPUExecutionProvider", ...]}
  {"type": "progress", "id": "j1", "stage": "audio" | "encoder" | "head" | "write", "fraction": 0.0..1.0}
  {"type": "result", "id": "j1", "curves": {...lipsync-curves/1 object...}}        (inline)
  {"type": "result", "id": "j1", "path": "/tmp/....json"}      (long clip: a curves file to read)
  {"type": "error", "id": "j1" | null, "code": "bad_audio", "message": "One sentence for a person."}
  {"type": "cancelled", "id": "j1"}
  {"type": "bye"}

Imports: standard library only.
"""
from __future__ import annotations

import json

PROTOCOL_VERSION = 1

# Error codes a client may branch on; the message is always a sentence for a person.
ERROR_CODES = (
    "bad_request",      # malformed JSON or missing field
    "missing_file",     # audio path does not exist
    "bad_audio",        # unreadable, corrupt, empty or unsupported audio
    "model",            # checkpoint missing, invalid or mismatched
    "encoder",          # speech encoder could not be loaded (e.g. offline, not cached)
    "internal",         # anything else; see the worker's stderr
)


def encode(message: dict) -> str:
    """One protocol line (with the trailing newline), UTF-8 safe, no NaN."""
    if "type" not in message:
        raise ValueError("A protocol message needs a 'type'.")
    return json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"


def decode(line: str) -> dict:
    """Parse one protocol line; ValueError with a readable reason otherwise."""
    try:
        message = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"Not a JSON line: {exc.msg}.") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ValueError("A protocol line must be a JSON object with a string 'type'.")
    return message
