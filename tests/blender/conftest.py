"""tests/blender: each module runs in its own process on the pip ``bpy`` wheel (see
blender_process.py). In the child, a throw-away BLENDER_USER_RESOURCES is set before bpy loads."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))

from blender_process import IN_CHILD, make_module_hook  # noqa: E402

if IN_CHILD:
    if "BLENDER_USER_RESOURCES" not in os.environ:   # the parent gives one and removes it
        os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="lipsync-user-")
else:
    pytest_pycollect_makemodule = make_module_hook()
