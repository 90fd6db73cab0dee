"""The trainer's parts on their own: schedule, loss terms, batches, training state, cache keys."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from inference.training.dataset import CropSampler, Example, eval_batches  # noqa: E402
from inference.training.features import encoder_key  # noqa: E402
from inference.training.losses import LossConfig, lipsync_loss  # noqa: E402
from inference.training.train import lr_at  # noqa: E402
from lipsync_core.params import NUM_PARAMS, index_of  # noqa: E402


def test_schedule_warms_up_then_decays_to_the_floor():
    lrs = [lr_at(s, 1e-3, 10, 100, 0.1) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lr_at(100, 1e-3, 10, 100, 0.1) == pytest.approx(1e-4)


def test_loss_terms():
    cfg = LossConfig(kind="l1", velocity_weight=1.0, closure_weight=2.0)
    target = torch.zeros(1, 20, NUM_PARAMS)
    target[0, 5:10, index_of("mouth_close")] = 1.0
    mask = torch.ones(1, 20, dtype=torch.bool)
    perfect, parts = lipsync_loss(target.clone(), target, mask, cfg)
    assert float(perfect) == 0.0 and parts["closure"] == 0.0
    on, off = target.clone(), target.clone()
    on[0, 5:10, index_of("jaw_open")] = 0.5
    off[0, 12:17, index_of("jaw_open")] = 0.5
    # Lip gap on every frame: a jaw error costs the same on a closure and elsewhere, and lips
    # sealed where the target is open are charged through the gap.
    assert float(lipsync_loss(on, target, mask, cfg)[0]) == pytest.approx(
        float(lipsync_loss(off, target, mask, cfg)[0]))
    sealed = target.clone()
    sealed[0, 12:17, index_of("mouth_close")] = 1.0
    assert lipsync_loss(sealed, target, mask, cfg)[1]["closure"] > 0.0
    # The first version, on closure frames only: the same jaw error costs more on a closure.
    first = LossConfig(kind="l1", velocity_weight=1.0, closure_weight=2.0, lip_gap_frames="closing")
    assert float(lipsync_loss(on, target, mask, first)[0]) > float(lipsync_loss(off, target, mask, first)[0])
    assert lipsync_loss(sealed, target, mask, first)[1]["closure"] == 0.0
    # Padded frames count for nothing.
    mask[0, 12:] = False
    assert lipsync_loss(off, target, mask, cfg)[1]["position"] == 0.0
    # A constant offset has no velocity error; a jittery one does.
    shifted = target + 0.1
    assert lipsync_loss(shifted, target, torch.ones(1, 20, dtype=torch.bool), cfg)[1]["velocity"] \
        == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ValueError, match="loss.param_weights: Unknown mouth parameter 'no_such_param'"):
        LossConfig(param_weights={"no_such_param": 2.0})


def test_cross_entropy_is_zero_when_exact_and_keeps_a_gradient_at_saturation():
    from inference.training.losses import cross_entropy
    from lipsync_core.params import SIGNED_MASK
    cfg = LossConfig(kind="bce", velocity_weight=0.5, closure_weight=2.0)
    signed = torch.tensor(SIGNED_MASK)
    target = torch.rand(2, 30, NUM_PARAMS) * 0.8 + 0.1                        # inside (0, 1)
    target = torch.where(signed, target * 2 - 1, target)                        # signed: (-1, 1)
    exact = torch.where(signed, torch.atanh(target), torch.logit(target))      # their logits
    assert float(cross_entropy(exact, target).abs().max()) < 1e-5
    mask = torch.ones(2, 30, dtype=torch.bool)
    with pytest.raises(ValueError, match="logits"):
        lipsync_loss(target, target, mask, cfg)
    # A unit pinned at the floor (logit -20, sigmoid ~2e-9) against a target of 0.6: L1's
    # gradient through the sigmoid is ~0 there, so L1 never revives it; cross-entropy's is
    # (prediction - target) on the logit, about -0.6.
    z = torch.full((1, 4, NUM_PARAMS), -20.0, requires_grad=True)
    tgt = torch.zeros(1, 4, NUM_PARAMS)
    tgt[..., index_of("lip_roll_lower")] = 0.6
    m = torch.ones(1, 4, dtype=torch.bool)
    lipsync_loss(torch.sigmoid(z), tgt, m, cfg, logits=z)[0].backward()
    g_bce = float(z.grad[..., index_of("lip_roll_lower")].sum())
    z.grad = None
    lipsync_loss(torch.sigmoid(z), tgt, m, LossConfig(kind="l1"))[0].backward()
    g_l1 = float(z.grad[..., index_of("lip_roll_lower")].sum())
    assert g_bce < -1e-3 and abs(g_l1) < 1e-6


def _examples(lengths, dim=4):
    rng = np.random.default_rng(0)
    return [Example(f"k{i}", "en", "v", rng.standard_normal((n, dim)).astype(np.float16),
                    rng.random((n, NUM_PARAMS)).astype(np.float32)) for i, n in enumerate(lengths)]


def test_sampler_is_deterministic_unpadded_and_resumable():
    exs = _examples([30, 45, 60, 80, 100, 120, 150])
    a = CropSampler(exs, 3, (20, 50), seed=5, bucket_batches=2)
    seen = [a.next_batch() for _ in range(7)]                    # crosses an epoch boundary
    for x, y, mask in seen:
        assert bool(mask.all()) and x.shape[:2] == y.shape[:2] and x.shape[1] <= 50
    state = a.state_dict()
    b = CropSampler(exs, 3, (20, 50), seed=5, bucket_batches=2)
    b.load_state_dict(state)
    assert all(torch.equal(p, q) for p, q in zip(a.next_batch(), b.next_batch()))
    c = CropSampler(exs, 3, (20, 50), seed=5, bucket_batches=2)
    assert torch.equal(c.next_batch()[0], seen[0][0])
    total = sum(int(m.sum()) for _, _, m in eval_batches(exs, 200))
    assert total == sum(e.frames for e in exs)


def test_state_roundtrip_restores_model_optimiser_and_rng(tmp_path):
    from inference.training.state import find_state, load_state, save_state
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    save_state(tmp_path / "state", model, opt, {"step": 1}, None)
    expected_draw = torch.rand(3)
    model2 = torch.nn.Linear(3, 2)
    opt2 = torch.optim.AdamW(model2.parameters(), lr=0.1)
    progress, best = load_state(find_state(tmp_path / "state"), model2, opt2)
    assert progress == {"step": 1} and best is None
    assert torch.equal(torch.rand(3), expected_draw)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), model2.parameters()))
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert all(torch.equal(s1[k]["exp_avg"], s2[k]["exp_avg"]) for k in s1)
    assert not list(tmp_path.glob("*.safetensors"))            # only inside the state folder
    assert not (tmp_path / "state.new").exists()


def test_encoder_key_changes_with_every_setting():
    base = {"kind": "whisper", "source": "openai/whisper-base", "layer": -1,
            "window_s": 30.0, "margin_s": 5.0}
    keys = {encoder_key(base), encoder_key({**base, "layer": "all"}),
            encoder_key({**base, "margin_s": 4.0}), encoder_key(base, stream_seconds=60),
            encoder_key({**base, "source": "/models/other"})}
    assert len(keys) == 5
    assert encoder_key(dict(reversed(list(base.items())))) == encoder_key(base)


def test_unknown_targets_teach_nothing_about_their_parameters():
    """A NaN target (dataset.forget_params) leaves its parameter out of every term on that frame:
    the loss and its gradient there are what they would be for any prediction, and the other
    parameters' loss is unchanged."""
    from inference.training.dataset import forget_params
    cfg = LossConfig(kind="bce", velocity_weight=0.5, closure_weight=3.0)
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 40, NUM_PARAMS, generator=g) * 0.8 + 0.1
    z = torch.randn(2, 40, NUM_PARAMS, generator=g)
    mask = torch.ones(2, 40, dtype=torch.bool)
    rounding = [index_of("lip_pucker"), index_of("lip_funnel")]
    forgotten = target.clone()
    forgotten[1][:, rounding] = float("nan")
    wild = z.clone()
    wild[1][:, rounding] = 8.0                                 # any prediction there
    a = lipsync_loss(torch.sigmoid(z), forgotten, mask, cfg, logits=z)[0]
    b = lipsync_loss(torch.sigmoid(wild), forgotten, mask, cfg, logits=wild)[0]
    assert torch.isfinite(a) and float(a) == pytest.approx(float(b), rel=1e-6)
    zz = z.clone().requires_grad_(True)
    lipsync_loss(torch.sigmoid(zz), forgotten, mask, cfg, logits=zz)[0].backward()
    assert float(zz.grad[1][:, rounding].abs().max()) == 0.0
    assert float(zz.grad[0][:, rounding].abs().max()) > 0.0      # the other utterance teaches
    assert float(zz.grad[1][:, index_of("jaw_open")].abs().max()) > 0.0
    # The known parameters cost what they cost before (the mask weighs nothing else).
    full = lipsync_loss(torch.sigmoid(z), target, mask, cfg, logits=z)[0]
    assert float(full) > float(a)
    # forget_params marks only the named voice's utterances, and refuses a name that is not a
    # mouth parameter with a sentence.
    exs = [Example("a", "en", "human", np.zeros((40, 8), np.float16), target[0].numpy().copy()),
           Example("b", "en", "tts", np.zeros((40, 8), np.float16), target[1].numpy().copy())]
    assert forget_params(exs, {"human": ["lip_pucker", "lip_funnel"]}) == 1
    assert np.isnan(exs[0].targets[:, rounding]).all() and not np.isnan(exs[1].targets).any()
    assert not np.isnan(np.delete(exs[0].targets, rounding, axis=1)).any()
    with pytest.raises(ValueError, match="not mouth parameters"):
        forget_params(exs, {"human": ["rounding"]})


def test_focused_copies_teach_only_pauses_and_closures():
    """dataset.focus_frames: an utterance of a focused corpus keeps its targets on silence and
    p/b/m frames (and a margin around them) and teaches nothing elsewhere; other corpora are
    untouched; a wrong class name or a record without phones is refused with a sentence."""
    from inference.training.config import focus_classes
    from inference.training.dataset import focus_frames
    # "a map" in ARPAbet: 0.1 s silence, AH 0.10-0.20, M 0.20-0.30, AE 0.30-0.50, P 0.50-0.60,
    # then no phone to the end (0.80 s: 40 frames at 50 Hz).
    record = {"notation": "arpabet", "lang": "en",
              "phones": [["sil", 0.0, 0.1], ["AH", 0.1, 0.2], ["M", 0.2, 0.3], ["AE", 0.3, 0.5],
                         ["P", 0.5, 0.6]]}
    target = np.random.default_rng(0).uniform(0.1, 0.9, (40, NUM_PARAMS)).astype(np.float32)
    exs = [Example("corpus-rec0/en/v/a", "en", "v", np.zeros((40, 8), np.float16), target.copy()),
           Example("corpus/en/v/a", "en", "v", np.zeros((40, 8), np.float16), target.copy())]
    records = {"corpus-rec0/en/v/a": record}
    assert focus_frames(exs, records, {"corpus-rec0": ["silence", "bilabial"]}, margin=1) == 1
    known = ~np.isnan(exs[0].targets).any(axis=1)                   # (40,) frames that teach
    expected = np.zeros(40, dtype=bool)
    expected[0:6] = True            # silence 0-4, one frame of margin
    expected[9:16] = True           # M 10-14 with margin
    expected[24:40] = True          # P 25-29, then the uncovered tail (silence)
    assert known.tolist() == expected.tolist()
    assert np.isnan(exs[0].targets[~known]).all()
    np.testing.assert_array_equal(exs[0].targets[known], target[known])
    assert not np.isnan(exs[1].targets).any()                        # another corpus: untouched
    # Open vowels added: the AE frames (15-24) teach too.
    exs[0].targets = target.copy()
    focus_frames(exs, records, {"corpus-rec0": ["silence", "bilabial", "open_vowel"]}, margin=1)
    assert not np.isnan(exs[0].targets[15:25]).any()
    with pytest.raises(ValueError, match="not phone classes"):
        focus_classes({"corpus-rec0": ["pauses"]})
    with pytest.raises(ValueError, match="no phone timings"):
        focus_frames(exs, {"corpus-rec0/en/v/a": {"notation": "arpabet"}},
                     {"corpus-rec0": ["silence"]})
