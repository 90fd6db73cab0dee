"""Command modules of ``python -m inference``: each exposes ``main(argv) -> int`` (see cli.py)."""
