"""tests/e2e: the operator against the real worker; each module in its own process (see
tests/blender/blender_process.py)."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "blender"))

from blender_process import IN_CHILD, make_module_hook  # noqa: E402

if IN_CHILD:
    if "BLENDER_USER_RESOURCES" not in os.environ:   # the parent gives one and removes it
        os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="lipsync-user-")
else:
    pytest_pycollect_makemodule = make_module_hook()
