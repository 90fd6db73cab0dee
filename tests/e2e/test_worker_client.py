"""The add-on's worker client against the real worker process, driven the way the modal
operator drives it: non-blocking polls from a timer, progress, result, cancel, shutdown, and
the worker ending by itself when Blender goes away (its stdin closes) in the middle of a job."""
import time
import wave

import numpy as np
import pytest

pytest.importorskip("torch")

from blender_process import ROOT, load_repo_package, speech_wav  # noqa: E402

load_repo_package()
from lipsync_repo.lipsync_addon import worker_client  # noqa: E402
from lipsync_repo.lipsync_addon.worker_client import Worker, WorkerConfig, WorkerError  # noqa: E402


@pytest.fixture(scope="module")
def config(tiny_runtime_model):
    import sys
    return WorkerConfig(sys.executable, str(ROOT), str(tiny_runtime_model), "cpu")


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return speech_wav(tmp_path_factory.mktemp("audio") / "speech.wav")


@pytest.fixture(scope="module")
def long_speech(tmp_path_factory, speech):
    """The speech repeated to about 60 s, so a job runs long enough to be interrupted."""
    with wave.open(str(speech)) as w:
        params, data = w.getparams(), w.readframes(w.getnframes())
    path = tmp_path_factory.mktemp("audio") / "long.wav"
    with wave.open(str(path), "wb") as w:
        w.setparams(params)
        w.writeframes(data * int(np.ceil(60 / (params.nframes / params.framerate))))
    return path


def timer_loop(worker, job_id=None, audio=None, fps=24.0, timeout=300.0):
    """What the modal operator does on each 0.1 s timer tick, until the job ends."""
    stages, request = [], None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        while (message := worker.poll()) is not None:
            if request is None and worker.hello is None:
                worker.accept_hello(message)
                continue
            done = worker_client.handle_job_message(message, request["id"],
                                                    lambda s, f: stages.append((s, f)))
            if done is not None:
                return done, stages
        if request is None and worker.hello is not None:
            request = worker.predict_request(str(audio), None, None, fps)
        time.sleep(0.1)
    raise AssertionError("the job did not end")


def test_poll_driven_job_with_progress(config, speech):
    worker = Worker(config)
    try:
        result, stages = timer_loop(worker, audio=speech, fps=24.0)
        assert worker.hello["protocol"] == 1 and worker.hello["device"].startswith("CPU")
        assert result["type"] == "result" and result["curves"]["fps"] == 24.0
        assert [s for s, _ in stages][0] == "audio"
        assert {"audio", "encoder", "head"} <= {s for s, _ in stages}
        # warm: a second job on the same process
        again = worker.run(str(speech), 0.5, 1.5, 30.0)
        assert again["curves"]["start_time"] == 0.5 and worker.alive
    finally:
        worker.shutdown()
    assert worker.proc.returncode == 0


def test_cancel_leaves_a_usable_worker(config, long_speech, speech):
    worker = Worker(config)
    try:
        worker.wait_hello()
        request = worker.predict_request(str(long_speech), None, None, 24.0)
        worker.cancel(request["id"])
        with pytest.raises(WorkerError) as err:
            while True:
                message = worker.poll(timeout=0.5)
                if message is not None and worker_client.handle_job_message(
                        message, request["id"], None) is not None:
                    pytest.fail("the cancelled job returned a result")
        assert err.value.code == "cancelled"
        assert worker.run(str(speech), None, None, 24.0)["type"] == "result"
    finally:
        worker.shutdown()


def test_worker_ends_when_blender_goes_away_mid_job(config, long_speech):
    worker = Worker(config)
    worker.wait_hello()
    worker.predict_request(str(long_speech), None, None, 24.0)
    while (message := worker.poll(timeout=5.0)) is None or message.get("type") != "progress":
        pass
    worker.proc.stdin.close()                  # what the OS does when Blender exits
    # it cancels the job and exits by itself, cleanly: a hang raises TimeoutExpired here, a
    # crash or a kill is a non-zero code, a job run to its end leaves a result behind
    assert worker.proc.wait(timeout=60) == 0, worker.stderr_tail()
    left = []
    while True:
        try:
            message = worker.poll()
        except WorkerError:                     # end of stream: the process is gone
            break
        if message is not None:
            left.append(message.get("type"))
    assert "result" not in left, left


def test_missing_interpreter_is_one_sentence(tmp_path):
    with pytest.raises(WorkerError, match="Could not start the inference worker"):
        Worker(WorkerConfig(str(tmp_path / "no-python"), str(ROOT)))


def test_bad_model_is_reported_before_any_job(config, tmp_path):
    worker = Worker(WorkerConfig(config.python, config.root, str(tmp_path / "nothing"), "cpu"))
    with pytest.raises(WorkerError) as err:
        worker.wait_hello(timeout=120)
    assert err.value.code in ("model", "crashed") and str(err.value)
    assert not worker.alive
