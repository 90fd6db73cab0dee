"""Training and evaluation of heads: feature cache, batches, losses, trainer, metrics, evaluation.

``python -m inference train --config FILE`` (train.py) and ``python -m inference evaluate``
(evaluate.py). metrics.py is numpy-only; the rest imports torch. Importing this package imports
nothing heavy.
"""
