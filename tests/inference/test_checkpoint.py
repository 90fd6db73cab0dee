"""Checkpoints: round trip, fp16, atomic saves, and strict refusal of anything that does not fit."""
import json
import pickle

import pytest
import torch

from inference.checkpoint import (CONFIG_NAME, WEIGHTS_NAME, ModelError, load_checkpoint,
                                  model_summary, read_config, save_checkpoint)
from inference.encoders import EncoderSpec
from inference.heads import HeadConfig, build_head
from lipsync_core.params import PARAM_NAMES, SCHEMA_VERSION

SPEC = EncoderSpec(kind="wav2vec2", source="/nowhere/tiny", layer=-1)


def make_cfg(kind: str) -> HeadConfig:
    return HeadConfig(kind=kind, in_dim=32, proj_dims=(24, 20), lstm_hidden=12, lstm_layers=2,
                      out_dims=(16,), d_model=16, n_heads=4, n_layers=2, ff_dim=32)


def saved(tmp_path, kind="bilstm", dtype="float32", name="ckpt"):
    torch.manual_seed(0)
    cfg = make_cfg(kind)
    head = build_head(cfg).eval()
    path = save_checkpoint(tmp_path / name, head, cfg, SPEC, training={"steps": 3}, dtype=dtype)
    return path, head, cfg


def edit_config(path, **changes):
    config = json.loads((path / CONFIG_NAME).read_text(encoding="utf-8"))
    config.update(changes)
    (path / CONFIG_NAME).write_text(json.dumps(config), encoding="utf-8")


@pytest.mark.parametrize("kind", ["bilstm", "transformer"])
def test_round_trip(tmp_path, kind):
    path, head, cfg = saved(tmp_path, kind)
    assert sorted(p.name for p in path.iterdir()) == [CONFIG_NAME, WEIGHTS_NAME]
    loaded = load_checkpoint(path)
    assert loaded.head_cfg == cfg and loaded.encoder_spec == SPEC
    assert not loaded.head.training
    x = torch.randn(2, 25, cfg.in_dim)
    with torch.no_grad():
        torch.testing.assert_close(loaded.head(x), head(x))
    config = read_config(path)
    assert config["params"] == list(PARAM_NAMES) and config["schema_version"] == SCHEMA_VERSION
    assert config["sample_rate"] == 16000 and config["frame_rate"] == 50
    assert config["training"] == {"steps": 3}
    assert model_summary(config)["head"] == kind


def test_float16_weights_load_as_float32_on_cpu(tmp_path):
    path, head, cfg = saved(tmp_path, dtype="float16")
    from safetensors.torch import load_file
    assert all(t.dtype == torch.float16 for t in load_file(str(path / WEIGHTS_NAME)).values())
    loaded = load_checkpoint(path, "cpu", torch.float16)
    assert all(p.dtype == torch.float32 for p in loaded.head.parameters())
    x = torch.randn(1, 20, cfg.in_dim)
    with torch.no_grad():
        torch.testing.assert_close(loaded.head(x), head(x), atol=5e-3, rtol=0)


def test_overwrite_is_atomic_and_leaves_nothing_behind(tmp_path):
    saved(tmp_path)
    path, _, _ = saved(tmp_path, kind="transformer")
    assert load_checkpoint(path).head_cfg.kind == "transformer"
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_renamed_parameter_is_refused(tmp_path):
    path, _, _ = saved(tmp_path)
    params = list(PARAM_NAMES)
    params[3] = "mouth_opening"
    edit_config(path, params=params)
    with pytest.raises(ModelError, match="parameters do not match.*mouth_open"):
        load_checkpoint(path)


def test_reordered_parameters_are_refused(tmp_path):
    path, _, _ = saved(tmp_path)
    edit_config(path, params=list(reversed(PARAM_NAMES)))
    with pytest.raises(ModelError, match="different order"):
        load_checkpoint(path)


def test_wrong_schema_version_is_refused(tmp_path):
    path, _, _ = saved(tmp_path)
    edit_config(path, schema_version=SCHEMA_VERSION + 1)
    with pytest.raises(ModelError, match=f"schema version {SCHEMA_VERSION + 1}"):
        load_checkpoint(path)


def test_folder_without_weights(tmp_path):
    path, _, _ = saved(tmp_path)
    (path / WEIGHTS_NAME).unlink()
    with pytest.raises(ModelError, match="has no weights"):
        load_checkpoint(path)


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_checkpoint(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        load_checkpoint(tmp_path / "empty")
    (tmp_path / "empty" / CONFIG_NAME).write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot be read"):
        load_checkpoint(tmp_path / "empty")


def test_shape_mismatch_is_refused(tmp_path):
    path, _, cfg = saved(tmp_path)
    edit_config(path, head={**cfg.to_dict(), "lstm_hidden": 13})
    with pytest.raises(ModelError, match="shape"):
        load_checkpoint(path)


def test_missing_and_unexpected_tensors_are_refused(tmp_path):
    path, _, cfg = saved(tmp_path)
    edit_config(path, head={**cfg.to_dict(), "lstm_layers": 3})
    with pytest.raises(ModelError, match="missing lstm"):
        load_checkpoint(path)
    edit_config(path, head={**cfg.to_dict(), "lstm_layers": 1})
    with pytest.raises(ModelError, match="unexpected lstm"):
        load_checkpoint(path)


def test_pickles_are_never_loaded(tmp_path):
    path, _, _ = saved(tmp_path)

    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    (path / WEIGHTS_NAME).write_bytes(pickle.dumps({"x": Boom()}))
    with pytest.raises(ModelError, match="cannot be read"):
        load_checkpoint(path)


def test_bad_head_config(tmp_path):
    path, _, cfg = saved(tmp_path)
    edit_config(path, head={**cfg.to_dict(), "kind": "gru"})
    with pytest.raises(ModelError, match="head configuration"):
        load_checkpoint(path)
