"""Which ONNX Runtime execution provider runs the model: the GPU when there is one, else the CPU.

Owns: the device names the commands and the add-on accept, the automatic choice, creating a
session with a fallback to the CPU, and the one-line description the panel and Check show.
May import: onnxruntime, the standard library. Ships in the extension.

Automatic order: CUDA (onnxruntime-gpu, NVIDIA), DirectML (the Windows zip's onnxruntime-directml:
NVIDIA, AMD and Intel GPUs), CoreML (macOS), then the CPU. A provider that is present but fails to
start (a missing CUDA library, an unsupported GPU) costs one warning line in the log and the CPU
takes over; it is never an error.
"""
from __future__ import annotations

import logging
import os
from typing import Any

import onnxruntime as ort

log = logging.getLogger(__name__)

PROVIDERS = {
    "cuda": "CUDAExecutionProvider",
    "directml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
DEVICES = ("auto", *PROVIDERS)
AUTO_ORDER = ("cuda", "directml", "coreml")
LABELS = {"CUDAExecutionProvider": "CUDA GPU", "DmlExecutionProvider": "DirectML GPU",
          "CoreMLExecutionProvider": "CoreML", "CPUExecutionProvider": "CPU"}


def wanted(device: str) -> list[str]:
    """Provider names to try for ``device`` (auto | cuda | directml | coreml | cpu), CPU last."""
    device = (device or "auto").strip().lower()
    if device not in DEVICES:
        raise ValueError(f"Unknown device {device!r}; use one of {', '.join(DEVICES)}.")
    available = set(ort.get_available_providers())
    if device == "auto":
        names = [PROVIDERS[d] for d in AUTO_ORDER if PROVIDERS[d] in available]
    elif device == "cpu":
        names = []
    else:
        names = [PROVIDERS[device]]
        if PROVIDERS[device] not in available:
            log.warning("%s is not in this onnxruntime build (it has %s); using the CPU",
                        PROVIDERS[device], ", ".join(sorted(available)))
            names = []
    return names + ["CPUExecutionProvider"]


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """Full graph optimisation; ``threads`` intra-op threads (None = one per core)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = int(threads or os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3                      # errors only; ours go through logging
    # No CPU memory arena: the arena keeps the largest activations of any run (the head's
    # attention of a long clip) for the life of the worker; measured on 60 s of speech, peak
    # memory 715 MB with the arena against 505 MB without, at the same speed within noise.
    options.enable_cpu_mem_arena = False
    # Denormal floats as zero on the CPU threads. Attention's softmax takes exp() of scores far
    # below the row's best, and results under 1.2e-38 are denormal, which this CPU handles
    # dozens of times slower; they weigh nothing next to the weights that matter. Measured on a
    # batch of four 14 s head windows: 0.41 s -> 0.31 s; docs/inference.md. ONNX Runtime also
    # sets the mode on the thread that creates the session, so numpy on that thread flushes too
    # (numpy's finfo then warns that the smallest subnormal is zero). Sessions live only in the
    # worker, the CLI and training processes, never inside Blender's own process.
    options.add_session_config_entry("session.set_denormal_as_zero", "1")
    # The pool's threads stop spinning when a run returns. Otherwise each one spins for about
    # 50 ms after every run, a whole core: the encoder's threads then fight the head that runs
    # next, and the head's fight the next line's encoder, for the same two cores. A 2 s line took
    # 0.10-0.12 s with the spinning and 0.06-0.09 s without it; 60 s was the same within noise
    # (docs/inference.md, "Threads that stop spinning"). Within a run they still spin.
    options.add_session_config_entry("session.force_spinning_stop", "1")
    return options


def make_session(path: str, device: str = "auto",
                 threads: int | None = None) -> tuple[ort.InferenceSession, str]:
    """An InferenceSession for ``path`` on the best provider for ``device``, and its provider."""
    names = wanted(device)
    options = session_options(threads)
    if names[0] != "CPUExecutionProvider":
        try:
            session = ort.InferenceSession(path, options, providers=names)
            active = session.get_providers()[0]
            if active != names[0]:
                log.warning("%s did not start for %s; running on the CPU", names[0],
                            os.path.basename(path))
            return session, active
        except Exception as exc:                     # noqa: BLE001 - any GPU failure: use the CPU
            log.warning("%s failed to start (%s); running on the CPU", names[0],
                        " ".join(str(exc).split())[:200])
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return session, "CPUExecutionProvider"


def describe(provider: str) -> str:
    """"CPU (onnxruntime 1.32.0)" or "CUDA GPU (onnxruntime 1.32.0)" for the panel and Check."""
    return f"{LABELS.get(provider, provider)} (onnxruntime {ort.__version__})"


def available_devices() -> list[str]:
    """The device names this onnxruntime build offers, besides "auto"."""
    present = set(ort.get_available_providers())
    return [name for name, provider in PROVIDERS.items() if provider in present]


def info() -> dict[str, Any]:
    return {"onnxruntime": ort.__version__, "providers": ort.get_available_providers()}
