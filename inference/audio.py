"""Audio in, for the torch side: the runtime's reader (lipsync_runtime/audio.py) is the one copy."""
from lipsync_core.params import SAMPLE_RATE  # noqa: F401
from lipsync_runtime.audio import AudioError, audio_duration, load_audio  # noqa: F401
