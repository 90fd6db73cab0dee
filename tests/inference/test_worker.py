"""The worker over real pipes: hello, warm predicts, cancel, bad requests, shutdown, EOF, crash.

The worker under test is the one the extension spawns, ``python -m lipsync_runtime serve``, on a
tiny checkpoint exported for ONNX Runtime; ``python -m inference serve --backend torch`` is the
same worker on the torch engine and gets one test of its own. The runtime worker also runs with
torch and transformers made unimportable, as in a stock Blender.
"""
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lipsync_core import protocol
from lipsync_core.curves import Curves, read_curves
from lipsync_core.params import PARAM_NAMES

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 120          # seconds to wait for one reply on a loaded machine
# Each test starts a worker process (torch + transformers import): seconds each. Every line the
# worker prints is decoded by Client.recv, so a stray non-protocol line on stdout fails any test.
pytestmark = pytest.mark.slow


class Client:
    """A worker process and its JSON Lines, read on a thread so waits can time out."""

    def __init__(self, model: Path, *extra: str, module: str = "lipsync_runtime",
                 pythonpath: tuple[str, ...] = ()) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join((*pythonpath, str(REPO)))}
        self.proc = subprocess.Popen([sys.executable, "-m", module, "serve", "--model",
                                      str(model), "--device", "cpu", *extra],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=str(REPO))
        self.lines: "queue.Queue[bytes | None]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.stderr = b""
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_err(self) -> None:
        self.stderr = self.proc.stderr.read()

    def send(self, message) -> None:
        data = message if isinstance(message, bytes) else protocol.encode(message).encode()
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def recv(self) -> dict | None:
        line = self.lines.get(timeout=TIMEOUT)
        return None if line is None else protocol.decode(line.decode("utf-8"))

    def until(self, *types: str) -> tuple[dict, list[dict]]:
        """Messages up to the first of ``types``: (that message, the ones before it)."""
        seen = []
        while True:
            message = self.recv()
            assert message is not None, f"worker ended early: {self.stderr.decode()[-2000:]}"
            if message["type"] in types:
                return message, seen
            seen.append(message)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.fixture
def client(tiny_runtime_model):
    worker = Client(tiny_runtime_model)
    hello = worker.recv()
    assert hello["type"] == "hello", worker.stderr
    worker.hello = hello
    yield worker
    worker.close()


def test_hello_two_warm_predicts_and_shutdown(client, speech_wav):
    hello = client.hello
    assert hello["protocol"] == protocol.PROTOCOL_VERSION and hello["device"].startswith("CPU (")
    assert hello["params"] == list(PARAM_NAMES) and hello["model"]["head"] == "bilstm"
    client.send({"type": "predict", "id": "one", "audio": str(speech_wav), "fps": 24})
    client.send({"type": "predict", "id": "two", "audio": str(speech_wav), "start": 1.0,
                 "end": 2.0})
    first, progress = client.until("result")
    assert first["id"] == "one"
    stages = [m["stage"] for m in progress if m["id"] == "one"]
    assert {"audio", "encoder", "head"} <= set(stages)
    assert all(0.0 <= m["fraction"] <= 1.0 for m in progress)
    curves = Curves.from_dict(first["curves"])
    assert curves.fps == 24 and curves.num_frames == 72
    second, _ = client.until("result")
    assert second["id"] == "two"
    curves = Curves.from_dict(second["curves"])
    assert curves.start_time == 1.0 and curves.num_frames == 50
    client.send({"type": "shutdown"})
    assert client.until("bye")[0] == {"type": "bye"}
    assert client.proc.wait(timeout=TIMEOUT) == 0
    assert client.recv() is None


def test_long_results_come_as_a_file(client, speech_wav):
    client.send({"type": "predict", "id": "long", "audio": str(speech_wav),
                 "inline_max_frames": 10})
    result, progress = client.until("result")
    assert "curves" not in result and Path(result["path"]).suffix == ".json"
    assert read_curves(result["path"]).num_frames == 150
    assert "write" in [m["stage"] for m in progress]
    Path(result["path"]).unlink()
    Path(result["path"]).parent.rmdir()


def test_bad_requests_then_a_good_one(client, speech_wav, tmp_path):
    text = tmp_path / "text.wav"
    text.write_text("not audio", encoding="utf-8")
    client.send(b"this is not json\n")
    client.send(b"[1, 2]\n")
    client.send({"type": "predict", "audio": str(speech_wav)})                 # no id
    client.send({"type": "predict", "id": "x"})                                # no audio
    client.send({"type": "predict", "id": "y", "audio": str(tmp_path / "absent.wav")})
    client.send({"type": "predict", "id": "z", "audio": str(text)})
    client.send({"type": "predict", "id": "f", "audio": str(speech_wav), "fps": -3})
    client.send({"type": "dance"})
    client.send({"type": "predict", "id": "good", "audio": str(speech_wav)})
    errors = []
    while True:
        message = client.recv()
        if message["type"] == "error":
            errors.append(message)
        elif message["type"] == "result":
            break
    assert message["id"] == "good" and Curves.from_dict(message["curves"]).num_frames == 150
    codes = [(e["id"], e["code"]) for e in errors]
    assert codes == [(None, "bad_request"), (None, "bad_request"), (None, "bad_request"),
                     ("x", "bad_request"), ("y", "missing_file"), ("z", "bad_audio"),
                     ("f", "bad_request"), (None, "bad_request")]
    assert all(e["message"].endswith(".") and "\n" not in e["message"] for e in errors)


def test_cancel_then_predict_again(client, tmp_path, audio):
    long_wav = audio.write_wav(tmp_path / "long.wav", audio.speechlike(90.0))
    client.send({"type": "predict", "id": "c", "audio": str(long_wav)})
    client.send({"type": "cancel", "id": "c"})
    reply, _ = client.until("cancelled", "result")
    assert reply == {"type": "cancelled", "id": "c"}
    client.send({"type": "predict", "id": "after", "audio": str(long_wav), "end": 2.0})
    reply, _ = client.until("result")
    assert reply["id"] == "after"
    # a late cancel for a finished job must not cancel a later job that reuses its id
    client.send({"type": "cancel", "id": "after"})
    client.send({"type": "predict", "id": "after", "audio": str(long_wav), "end": 1.0})
    reply, _ = client.until("result", "cancelled")
    assert reply["type"] == "result"


def test_cancel_while_running(client, tmp_path, audio):
    long_wav = audio.write_wav(tmp_path / "long.wav", audio.speechlike(120.0))
    client.send({"type": "predict", "id": "run", "audio": str(long_wav)})
    client.until("progress")                                   # the job has started
    client.send({"type": "cancel", "id": "run"})
    reply, _ = client.until("cancelled", "result")
    assert reply["type"] == "cancelled"


def test_eof_exits(client):
    client.proc.stdin.close()
    assert client.proc.wait(timeout=TIMEOUT) == 0
    assert client.recv() is None


def test_crash_is_seen_as_end_of_stream(client, speech_wav):
    client.send({"type": "predict", "id": "k", "audio": str(speech_wav)})
    client.proc.send_signal(signal.SIGKILL)
    while (message := client.recv()) is not None:
        assert message["type"] in ("progress", "result")
    assert client.proc.wait(timeout=TIMEOUT) == -signal.SIGKILL


def test_bad_model_reports_then_exits(tmp_path):
    worker = Client(tmp_path / "no-model")
    try:
        message = worker.recv()
        assert message["type"] == "error" and message["code"] == "model"
        assert "does not exist" in message["message"]
        assert worker.proc.wait(timeout=TIMEOUT) == 1
    finally:
        worker.close()


def _predict_once(worker: Client, wav: Path) -> dict:
    hello = worker.recv()
    assert hello["type"] == "hello", worker.stderr
    worker.send({"type": "predict", "id": "one", "audio": str(wav), "fps": 24})
    result, _ = worker.until("result", "error")
    assert result["type"] == "result", result
    return hello


def test_runtime_worker_needs_no_torch(tmp_path, tiny_runtime_model, speech_wav):
    blocked = tmp_path / "blocked"
    for name in ("torch", "transformers"):
        (blocked / name).mkdir(parents=True)
        (blocked / name / "__init__.py").write_text(f"raise ImportError('{name} is blocked')\n")
    worker = Client(tiny_runtime_model, pythonpath=(str(blocked),))
    try:
        hello = _predict_once(worker, speech_wav)
        assert hello["model"]["backend"] == "onnxruntime"
        assert "CPUExecutionProvider" in hello["providers"]
    finally:
        worker.close()


def test_torch_backend_serves_a_checkpoint(tiny_checkpoint, speech_wav):
    worker = Client(tiny_checkpoint, "--backend", "torch", module="inference")
    try:
        hello = _predict_once(worker, speech_wav)
        assert hello["device"] == "cpu" and "backend" not in hello["model"]
    finally:
        worker.close()
