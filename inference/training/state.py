"""The resumable training state: everything needed to continue a run bit for bit, without pickle.

Owns ``save_state`` / ``load_state``. A state directory holds::

    state.safetensors   model.*  (head weights), optim.<param index>.<name> (AdamW moments and
                        step), best.* (weights of the best validation so far), rng.torch,
                        rng.numpy (MT19937 key)
    state.json          step, sampler position, early-stopping bookkeeping, history, the
                        optimiser's param_groups, the numpy and python RNG states, the config

It is written as ``<dir>.new`` and swapped into place (the previous state is kept as
``<dir>.old`` until the swap is done, and is used if ``<dir>`` is missing after a crash).

Imports: numpy, torch, safetensors, standard library.
"""
from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

STATE_TENSORS = "state.safetensors"
STATE_JSON = "state.json"


def _rng_states() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    tensors = {"rng.torch": torch.get_rng_state(),
               "rng.numpy": torch.from_numpy(np.asarray(keys, dtype=np.int64))}
    extra = {"numpy": {"kind": kind, "pos": int(pos), "has_gauss": int(has_gauss),
                       "cached_gaussian": float(cached)},
             "python": {"version": py_version, "state": list(py_state), "gauss_next": py_gauss}}
    return tensors, extra


def _set_rng_states(tensors: dict[str, torch.Tensor], extra: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    n = extra["numpy"]
    np.random.set_state((n["kind"], tensors["rng.numpy"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached_gaussian"]))
    p = extra["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss_next"]))


def save_state(directory: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               progress: dict[str, Any], best_weights: dict[str, torch.Tensor] | None) -> None:
    """Write the whole training state to ``directory`` (swapped in atomically)."""
    from safetensors.torch import save_file

    directory = Path(directory)
    tensors: dict[str, torch.Tensor] = {}
    for name, t in model.state_dict().items():
        tensors[f"model.{name}"] = t.detach().cpu().contiguous().clone()
    for name, t in (best_weights or {}).items():
        tensors[f"best.{name}"] = t.detach().cpu().contiguous().clone()
    opt = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for pid, slots in opt["state"].items():
        for key, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"optim.{pid}.{key}"] = value.detach().cpu().contiguous().clone()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    rng_tensors, rng_extra = _rng_states()
    tensors.update(rng_tensors)
    meta = {"progress": progress, "param_groups": opt["param_groups"], "optim_scalars": scalars,
            "rng": rng_extra, "has_best": best_weights is not None}

    new = directory.with_name(directory.name + ".new")
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    save_file(tensors, str(new / STATE_TENSORS))
    (new / STATE_JSON).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    if directory.exists():
        shutil.rmtree(old, ignore_errors=True)
        directory.rename(old)
    new.rename(directory)
    shutil.rmtree(old, ignore_errors=True)


def find_state(directory: Path) -> Path | None:
    """The state directory to resume from: ``directory``, else a complete ``<dir>.old``."""
    directory = Path(directory)
    for candidate in (directory, directory.with_name(directory.name + ".old")):
        if (candidate / STATE_JSON).is_file() and (candidate / STATE_TENSORS).is_file():
            return candidate
    return None


def load_state(directory: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               ) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None]:
    """Restore model, optimiser and RNGs from ``directory``; return (progress, best weights)."""
    from safetensors.torch import load_file

    meta = json.loads((Path(directory) / STATE_JSON).read_text(encoding="utf-8"))
    tensors = load_file(str(Path(directory) / STATE_TENSORS))
    model_sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    model.load_state_dict(model_sd, strict=True)
    best = ({k[len("best."):]: v for k, v in tensors.items() if k.startswith("best.")}
            if meta["has_best"] else None)
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = value
    for pid, slots in meta["optim_scalars"].items():
        state.setdefault(int(pid), {}).update(slots)
    groups = meta["param_groups"]
    for group in groups:
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    _set_rng_states(tensors, meta["rng"])
    return meta["progress"], best
