"""Head networks: output contract, padding, layer mixing, chunked against unchunked."""
import pytest
import torch

from inference.heads import (Cancelled, HeadConfig, build_head, chunk_windows, count_parameters,
                             run_head_chunked)
from lipsync_core.params import NUM_PARAMS, PARAMS

SIGNED = torch.tensor([p.signed for p in PARAMS])


def tiny(kind: str, layers: int = 1, in_dim: int = 16, **extra) -> HeadConfig:
    if kind == "conformer":                # the transformer head with its convolution module
        kind, extra = "transformer", {"conv_kernel": 5, **extra}
    return HeadConfig(kind=kind, in_dim=in_dim, num_encoder_layers=layers, proj_dims=(24, 20),
                      lstm_hidden=12, lstm_layers=2, out_dims=(16,), d_model=16, n_heads=4,
                      n_layers=2, ff_dim=32, **extra)


def test_seed_defaults_are_the_seed_network():
    cfg = HeadConfig()
    head = build_head(cfg)
    assert (cfg.kind, cfg.proj_dims, cfg.lstm_hidden, cfg.lstm_layers, cfg.out_dims) == \
        ("bilstm", (512, 384), 512, 3, (256, 128))
    assert head.lstm.bidirectional and head.lstm.hidden_size == 512
    linears = [m for m in head.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == \
        [(768, 512), (512, 384), (1024, 256), (256, 128), (128, NUM_PARAMS)]
    assert count_parameters(head) > 10_000_000


@pytest.mark.parametrize("kind", ["bilstm", "transformer"])
def test_output_shape_and_ranges(kind):
    torch.manual_seed(0)
    head = build_head(tiny(kind)).eval()
    x = torch.randn(3, 40, 16) * 5                              # large inputs saturate
    y = head(x)
    assert y.shape == (3, 40, NUM_PARAMS)
    assert torch.all(y[..., SIGNED].abs() <= 1)
    assert torch.all((y[..., ~SIGNED] >= 0) & (y[..., ~SIGNED] <= 1))
    assert (y[..., SIGNED] < 0).any()                            # tanh really on signed ones


@pytest.mark.parametrize("kind", ["bilstm", "transformer", "conformer"])
def test_padding_does_not_leak(kind):
    torch.manual_seed(1)
    head = build_head(tiny(kind)).eval()
    x = torch.randn(2, 30, 16)
    mask = torch.ones(2, 30, dtype=torch.bool)
    mask[1, 20:] = False
    garbage = x.clone()
    garbage[1, 20:] = 1000.0
    with torch.no_grad():
        a = head(x, mask)[1, :20]
        b = head(garbage, mask)[1, :20]
        alone = head(x[1:, :20])[0]
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["bilstm", "transformer"])
def test_layer_mix(kind):
    head = build_head(tiny(kind, layers=3)).eval()
    x = torch.randn(2, 3, 10, 16)
    assert head(x).shape == (2, 10, NUM_PARAMS)
    with pytest.raises(ValueError, match="mixes 3"):
        head(x[:, 0])
    with torch.no_grad():
        head.layer_logits.copy_(torch.tensor([0.0, 50.0, 0.0]))
        torch.testing.assert_close(head(x), build_head_from(head, x[:, 1]), atol=1e-5, rtol=0)


def build_head_from(head, x):
    """The same head fed one layer directly: mixing with one-hot weights must equal it."""
    with torch.no_grad():
        z = head.out(head.body(head.proj(x), None))
        return torch.where(head.signed, torch.tanh(z), torch.sigmoid(z))


def test_wrong_feature_size():
    head = build_head(tiny("bilstm"))
    with pytest.raises(ValueError, match="16-d"):
        head(torch.randn(1, 5, 8))


def test_config_round_trip_and_validation():
    cfg = tiny("transformer", layers=2)
    assert HeadConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown fields"):
        HeadConfig.from_dict({**cfg.to_dict(), "colour": 1})
    with pytest.raises(ValueError, match="head kind"):
        HeadConfig(kind="gru")
    with pytest.raises(ValueError, match="multiple"):
        HeadConfig(kind="transformer", d_model=30, n_heads=8)
    with pytest.raises(ValueError, match="odd number"):
        HeadConfig(kind="transformer", conv_kernel=4)
    older = {k: v for k, v in cfg.to_dict().items() if k not in ("conv_kernel", "input_dropout")}
    assert HeadConfig.from_dict(older) == cfg          # checkpoints from before these options


def test_convolution_module_reads_its_kernel_of_frames():
    """The convolution module adds a local reading: with attention switched off (no layers'
    attention can see anything but a frame itself), changing one input frame moves the outputs
    within kernel // 2 frames per layer and no further."""
    torch.manual_seed(2)
    head = build_head(tiny("conformer")).eval()                  # kernel 5, 2 layers
    head.slopes.fill_(1e4)                                       # attention: each frame alone
    x = torch.randn(1, 40, 16)
    moved = x.clone()
    moved[0, 20] += 3.0
    with torch.no_grad():
        change = (head(moved) - head(x)).abs().amax(dim=-1)[0]   # (40,)
    reach = 2 * (5 // 2)
    assert torch.all(change[20 - reach:20 + reach + 1] > 0)
    assert torch.all(change[:20 - reach] == 0) and torch.all(change[20 + reach + 1:] == 0)


def test_input_dropout_acts_only_while_training():
    torch.manual_seed(3)
    head = build_head(tiny("transformer", input_dropout=0.5))
    x = torch.randn(1, 30, 16)
    head.eval()
    with torch.no_grad():
        torch.testing.assert_close(head(x), head(x))
        plain = build_head(tiny("transformer"))
        plain.load_state_dict(head.state_dict())
        torch.testing.assert_close(head(x), plain.eval()(x))    # no extra weights, no change
    head.train()
    with torch.no_grad():
        assert not torch.allclose(head(x), head(x))


def test_chunk_windows_cover_every_frame_once():
    for T in (1, 99, 700, 701, 1234, 3000):
        windows = chunk_windows(T, core=100, context=40)
        cores = [(cs, ce) for _, _, cs, ce in windows]
        assert cores[0][0] == 0 and cores[-1][1] == T
        assert all(a[1] == b[0] for a, b in zip(cores, cores[1:]))
        lengths = {we - ws for ws, we, _, _ in windows}
        assert len(lengths) == 1                                  # batch without padding
        for ws, we, cs, ce in windows:
            assert 0 <= ws <= cs < ce <= we <= T


@pytest.mark.parametrize("kind", ["bilstm", "transformer"])
def test_chunked_equals_unchunked(kind):
    torch.manual_seed(2)
    head = build_head(tiny(kind)).eval()
    x = torch.randn(1234, 16)
    with torch.no_grad():
        whole = head(x[None])[0]
    fractions = []
    chunked = run_head_chunked(head, x, core=150, context=60, batch_size=3,
                               progress=fractions.append)
    assert chunked.shape == (1234, NUM_PARAMS)
    # the BiLSTM forgets within the 60-frame context; ALiBi attention decays but never ends,
    # so the transformer differs by a few thousandths far below what a shape key shows
    atol = 2e-4 if kind == "bilstm" else 1e-2
    torch.testing.assert_close(chunked, whole, atol=atol, rtol=0)
    assert (chunked - whole).abs().mean() < atol / 4
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_parallel_workers_match_one_worker():
    torch.manual_seed(3)
    head = build_head(tiny("bilstm")).eval()
    x = torch.randn(2000, 16)
    serial = run_head_chunked(head, x, core=200, context=50, batch_size=2)
    fractions = []
    parallel = run_head_chunked(head, x, core=200, context=50, batch_size=2, workers=3,
                                progress=fractions.append)
    torch.testing.assert_close(parallel, serial, atol=1e-5, rtol=0)
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    threads = torch.get_num_threads()
    with pytest.raises(Cancelled):
        run_head_chunked(head, x, core=200, context=50, workers=2, cancel=lambda: True)
    assert torch.get_num_threads() == threads


def test_transformer_runs_longer_than_trained():
    """ALiBi has no maximum length: a 5000-frame window runs and stays in range."""
    head = build_head(tiny("transformer")).eval()
    with torch.no_grad():
        y = head(torch.randn(1, 5000, 16))
    assert y.shape == (1, 5000, NUM_PARAMS) and torch.isfinite(y).all()


def test_bilstm_training_fixes_are_options_and_the_seed_is_unchanged():
    """lstm_forget_bias opens the forget gates at the start, lstm_norm normalises the LSTM's
    output; without them the head's weights are the seed's, so older checkpoints still load."""
    torch.manual_seed(0)
    seed = build_head(tiny("bilstm"))
    fixed = build_head(HeadConfig(**{**tiny("bilstm").to_dict(), "lstm_forget_bias": 1.0,
                                     "lstm_norm": True}))
    hidden = fixed.cfg.lstm_hidden
    for name, value in fixed.lstm.named_parameters():
        if name.startswith("bias_ih"):
            assert torch.all(value[hidden:2 * hidden] == 1.0), name
        if name.startswith("bias_hh"):
            assert torch.all(value[hidden:2 * hidden] == 0.0), name
    assert set(fixed.state_dict()) - set(seed.state_dict()) == {"norm.weight", "norm.bias"}
    assert isinstance(seed.norm, torch.nn.Identity)
    fixed.eval()
    with torch.no_grad():                      # the norm is applied: the body's output is unit-scale
        body = fixed.body(fixed.proj(torch.randn(2, 30, 16)), None)
    assert torch.allclose(body.mean(-1), torch.zeros(2, 30), atol=1e-5)
    assert HeadConfig.from_dict(fixed.cfg.to_dict()) == fixed.cfg


def test_squared_distance_bias_needs_no_bias_input():
    """gauss_qk's two extra query/key dimensions give the same attention as the bias
    -a (i - j)^2 added to the scores, so the exported graph can use the fused kernel."""
    from inference.fused_attention import attention
    from inference.heads import alibi_slopes, gauss_qk

    torch.manual_seed(3)
    B, T, H, dh = 2, 37, 4, 6
    q, k, v = (torch.randn(B, T, H * dh, dtype=torch.float64) for _ in range(3))
    a = alibi_slopes(H).double() ** 2
    pos = torch.arange(T, dtype=torch.float64)
    bias = -(a[:, None, None] * (pos[None, :] - pos[:, None]) ** 2)[None]   # (1, H, T, T)
    biased = attention(q, k, v, H, bias=bias)
    qa, ka = gauss_qk(q, k, H, a, dh ** -0.5)
    assert qa.shape == ka.shape == (B, T, H * (dh + 2))
    rewritten = attention(qa, ka, v, H, scale=1.0)
    assert rewritten.shape == (B, T, H * dh)
    torch.testing.assert_close(rewritten, biased, atol=1e-10, rtol=1e-10)
    # and it is not ALiBi's bias: the two positions give different attention
    alibi = attention(q, k, v, H, bias=-(alibi_slopes(H).double()[:, None, None]
                                          * (pos[None, :] - pos[:, None]).abs())[None])
    assert (alibi - biased).abs().max() > 1e-3


def test_gauss_head_is_local_and_checked():
    with pytest.raises(ValueError, match="position"):
        tiny("transformer", position="rope")
    x = torch.randn(1, 2000, 16, generator=torch.Generator().manual_seed(4))
    far = x.clone()
    far[0, 1800:] = torch.randn(200, 16) * 10                   # change only distant frames
    moved = {}
    for position in ("gauss", "alibi"):
        torch.manual_seed(4)
        head = build_head(tiny("transformer", position=position)).eval()
        with torch.no_grad():
            moved[position] = float((head(x)[0, :20] - head(far)[0, :20]).abs().max())
    # 1780+ frames away the widest head (slope 1/256) biases by -(1780/256)^2 = -48 against
    # ALiBi's -7: the squared distance forgets what is far, ALiBi still hears it
    assert moved["gauss"] < 1e-6 < moved["alibi"], moved
