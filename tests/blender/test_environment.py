"""How the add-on starts its worker (environment.py), the preferences' Check and Open Log, and the
worker client's watchdog, crash sentence, log file and result-folder clean-up, on the real bpy
wheel with the real runtime worker (``python -m lipsync_runtime serve`` on the shipped model).

The worker tests need onnxruntime in this Python (the development venv has it); in the stock
venvs test_stock_blender.py runs the worker from the installed zip instead.
"""
import os
import signal
import sys
import threading
import time
import types
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

from blender_process import ROOT, load_repo_package  # noqa: E402

pkg = load_repo_package()
from lipsync_repo.lipsync_addon import environment as env  # noqa: E402
from lipsync_repo.lipsync_addon import run_state  # noqa: E402
from lipsync_repo.lipsync_addon import preferences, worker_client, worker_log  # noqa: E402
from lipsync_repo.lipsync_addon.worker_client import Worker, WorkerConfig, WorkerError  # noqa: E402

SPEECH = ROOT / "assets" / "demo" / "speech_en.wav"
needs_runtime = pytest.mark.skipif(
    any(__import__("importlib.util").util.find_spec(m) is None
        for m in ("onnxruntime", "soundfile", "soxr"))
    or not (ROOT / "assets" / "runtime" / "config.json").is_file(),
    reason="needs onnxruntime, soundfile and soxr in this Python and assets/runtime (make setup)")


@pytest.fixture(scope="module", autouse=True)
def registered():
    pkg.register()
    yield
    worker_client.shutdown_worker()
    pkg.unregister()


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("LIPSYNC_PYTHON", "LIPSYNC_MODEL", "LIPSYNC_DEVICE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_worker_config_uses_blenders_python_and_the_wheel_folders(clean_env, tmp_path):
    site = tmp_path / "extensions" / ".local" / "lib" / \
        "python{}.{}".format(*sys.version_info[:2]) / "site-packages"
    site.mkdir(parents=True)
    clean_env.setattr(sys, "path", [*sys.path, str(site), str(tmp_path / "gone" / site.name)])
    config = env.worker_config()
    assert config.python == sys.executable
    assert config.command()[1:5] == ["-m", "lipsync_runtime", "serve", "--device"]
    assert config.root == str(ROOT) and str(site) in config.paths
    assert all(os.path.isdir(p) for p in config.paths)
    assert config.log == str(env.log_path()) and config.log.endswith("worker.log")
    child = config.environ({"PYTHONPATH": "/elsewhere", "PYTHONHOME": "/blender/python"})
    assert child["PYTHONPATH"].split(os.pathsep) == [str(ROOT), *config.paths, "/elsewhere"]
    assert "PYTHONHOME" not in child and child["PYTHONNOUSERSITE"] == "1"
    # Blender's Allow Online Access switched off: the worker is told to stay offline
    assert config.offline == (not env.online_access())
    assert "HF_HUB_OFFLINE" not in WorkerConfig("py", "/r").environ({})
    assert WorkerConfig("py", "/r", offline=True).environ({})["HF_HUB_OFFLINE"] == "1"


def test_interpreter_choice_and_device(clean_env, tmp_path):
    prefs = types.SimpleNamespace(python_path="", model_dir="", device="DIRECTML")
    clean_env.setattr(env, "preferences", lambda: prefs)
    assert env.interpreter() == (sys.executable, "Blender")
    assert env.worker_config().command()[5] == "directml"
    clean_env.setenv("LIPSYNC_PYTHON", "/opt/py/bin/python3")
    assert env.interpreter() == ("/opt/py/bin/python3", "LIPSYNC_PYTHON")
    assert env.worker_config().paths == ()          # Blender's wheels fit Blender's Python only
    other = tmp_path / "python3"
    other.write_text("")
    prefs.python_path = str(other)
    assert env.interpreter() == (str(other), "preferences")
    prefs.python_path = str(tmp_path / "missing")
    with pytest.raises(env.EnvironmentMissing, match="does not exist; fix the path or clear it"):
        env.worker_config()
    assert [i[0] for i in preferences.DEVICE_ITEMS] == list(env.DEVICES)


def test_preferences_draw_without_set_up():
    class Layout:
        def __init__(self):
            self.log = []

        def __getattr__(self, name):
            def record(*args, **kwargs):
                self.log.append((name, args, kwargs))
                return self
            return record

    layout = Layout()
    preferences.LIPSYNC_AP_preferences.draw(types.SimpleNamespace(layout=layout), bpy.context)
    operators = [a[0] for n, a, k in layout.log if n == "operator"]
    props = [a[1] for n, a, k in layout.log if n == "prop"]
    assert operators == ["lipsync.check_environment", "lipsync.open_log"]
    assert props == ["device", "python_path", "model_dir"]
    assert "setup_environment" not in dir(bpy.ops.lipsync)
    # Check waits while a Generate job reads the worker's messages
    assert bpy.ops.lipsync.check_environment.poll()
    run_state.begin(bpy.context.scene.name)
    try:
        assert not bpy.ops.lipsync.check_environment.poll()
    finally:
        run_state.end(run_state.get(bpy.context.scene.name))


@needs_runtime
def test_check_reports_device_provider_and_model_blocking_and_through_its_timer(clean_env):
    worker_client.shutdown_worker()
    assert bpy.ops.lipsync.check_environment() == {"FINISHED"}          # background: blocks
    summary = preferences._status["summary"]
    assert summary.startswith("Worker ready on CPU") and "CPUExecutionProvider" in summary
    assert worker_client.last_device().startswith("CPU")
    assert worker_client.last_provider() == "CPUExecutionProvider"
    # with a window: the operator starts a thread and a timer publishes; drive both here
    preferences._status["summary"] = ""
    preferences._check.clear()
    thread = threading.Thread(target=preferences._run_check,
                              args=(env.worker_config(), preferences._check))
    thread.start()
    while preferences._check_timer() is not None:        # the timer keeps polling until done
        time.sleep(0.05)
    thread.join()
    assert preferences._status["summary"].startswith("Worker ready on CPU")
    assert preferences._status["running"] is False


def test_open_log(clean_env, tmp_path):
    clean_env.setattr(env, "log_path", lambda: tmp_path / "worker.log")
    opened = []
    clean_env.setattr(preferences, "_open_path", opened.append)
    assert bpy.ops.lipsync.open_log() == {"CANCELLED"}             # no log yet: a warning
    (tmp_path / "worker.log").write_text("INFO ...\n")
    assert bpy.ops.lipsync.open_log() == {"FINISHED"}
    assert opened == [str(tmp_path / "worker.log")]


@needs_runtime
def test_crash_sentence_names_what_happened_and_the_log(tmp_path):
    log = tmp_path / "worker.log"
    worker = Worker(WorkerConfig(sys.executable, str(ROOT), device="cpu", log=str(log)))
    worker.wait_hello()
    os.kill(worker.proc.pid, signal.SIGKILL)
    with pytest.raises(WorkerError) as info:
        while True:
            worker.poll(timeout=0.5)
    text = str(info.value)
    assert "killed by SIGKILL" in text and str(log) in text, text
    assert "INFO" not in text                              # not the last log line
    assert "model" in log.read_text()                      # the worker's stderr went to the log
    assert worker_log.describe_exit(1, ["Traceback ...", "ModuleNotFoundError: No module named "
                                        "'onnxruntime'"]) == \
        "it exited with code 1 after ModuleNotFoundError: No module named 'onnxruntime'"


def test_watchdog_ends_a_hung_worker(tmp_path):
    """A real process that greets and then never answers (as a deadlocked worker would)."""
    hung = tmp_path / "hung"
    (hung / "hungworker").mkdir(parents=True)
    (hung / "hungworker" / "__main__.py").write_text(
        "import json, sys, time\n"
        "print(json.dumps({'type': 'hello', 'protocol': 1, 'device': 'cpu'}), flush=True)\n"
        "time.sleep(600)\n")
    config = WorkerConfig(sys.executable, str(hung), module="hungworker", log=str(tmp_path / "l"))
    worker = Worker(config)
    worker.wait_hello(timeout=60)
    request = worker.predict_request(str(SPEECH), None, None, 24.0)
    assert worker.poll() is None and worker.job_running           # within the limit: waiting
    worker.last_message_at -= worker_client.STALL_TIMEOUT_S + 1   # as if the limit had passed
    with pytest.raises(WorkerError, match=r"sent nothing for \d+ s and was stopped; its log is"):
        worker.poll()
    assert not worker.alive and request["id"]


def test_crash_error_reads_stderr_safely_while_lines_arrive(tmp_path):
    """What crash_error reads (the stderr lines) is a copy taken under the reader's lock, so
    scanning it while the reader thread appends never fails."""
    (tmp_path / "noisy.py").write_text(
        "import sys\nfor i in range(300000):\n    print('line', i, file=sys.stderr)\n")
    config = WorkerConfig(sys.executable, str(tmp_path), module="noisy",
                          log=str(tmp_path / "noisy.log"))
    Worker(config).proc.wait(timeout=120)
    worker = Worker(config)
    errors, scans = [], 0
    while worker.alive:
        try:
            worker_log.describe_exit(None, worker.stderr_lines())
            scans += 1
        except RuntimeError as exc:                    # "deque mutated during iteration"
            errors.append(exc)
    assert not errors and scans > 10
    assert "exited without an error" in str(worker.crash_error())
    assert (tmp_path / "noisy.log.1").is_file()        # the previous worker's log is kept
    assert "line 299999" in (tmp_path / "noisy.log").read_text()


@needs_runtime
def test_file_result_folder_is_removed_after_reading():
    worker = Worker(WorkerConfig(sys.executable, str(ROOT), device="cpu"))
    worker.wait_hello()
    worker.send({"type": "predict", "id": "long", "audio": str(SPEECH), "start": None,
                 "end": None, "fps": 24.0, "inline_max_frames": 10})
    worker.job_running = True
    while True:
        message = worker.poll(timeout=1.0)
        if message is not None and message.get("type") == "result":
            break
    folder = Path(message["path"]).parent
    assert folder.is_dir() and folder != Path(__import__("tempfile").gettempdir())
    worker.predict_request(str(SPEECH), None, None, 24.0)        # the next job: read by now
    assert not folder.exists()
    worker.shutdown()
