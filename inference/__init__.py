"""Speech -> 26 mouth-parameter curves. Never imports bpy.

Importing this package is cheap: torch and transformers are imported by the modules that need
them (encoders, heads, pipeline, training), so the command line can print usage errors fast.
"""
