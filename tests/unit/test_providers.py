"""ONNX Runtime session options for the shipped runtime (lipsync_runtime.providers)."""
import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from lipsync_runtime.providers import session_options


def _mul_session() -> tuple[ort.InferenceSession, int]:
    """A session with the shipped options that multiplies two vectors of n floats, n large
    enough for the work to run on the thread pool; returns (session, n)."""
    n = 1 << 20
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "y"], ["z"])], "mul",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [n]) for name in ("x", "y")],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), session_options(2),
                                   providers=["CPUExecutionProvider"])
    return session, n


def test_denormal_results_are_flushed_to_zero():
    """Attention's softmax produces denormal floats (exp of scores far below the best), which
    this CPU handles dozens of times slower; the sessions flush them to zero. A product of
    1e-30 and 1e-10 is denormal (1e-40): the pool threads must give 0 instead."""
    session, n = _mul_session()
    z = session.run(None, {"x": np.full(n, 1e-30, np.float32), "y": np.full(n, 1e-10, np.float32)})[0]
    # the calling thread keeps its own floating-point mode and may compute a share itself
    assert (z == 0).mean() > 0.25
    assert np.all((z == 0) | np.isclose(z, 1e-40, rtol=1e-2, atol=0))


def test_threads_leave_the_cores_when_a_run_returns():
    """A session's pool threads used to spin for about 50 ms after every run, a whole core: the
    encoder's threads fought the head that runs next (and Blender beside the worker). After a
    run the process must use next to no CPU while it waits (the spinning used 45-50 ms of the
    50 ms wait; CPU time, so a busy machine cannot make this fail)."""
    import time
    session, n = _mul_session()
    x = np.ones(n, np.float32)
    idle = []
    for _ in range(3):
        session.run(None, {"x": x, "y": x})
        cpu = time.process_time()
        time.sleep(0.05)
        idle.append(time.process_time() - cpu)
    assert min(idle) < 0.010, f"CPU used while idle after a run: {idle}"
