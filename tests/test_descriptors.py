"""Fixed random CNN descriptors: shapes, receptive fields (computed and measured), seeding, freezing,
He scaling, input validation."""
from __future__ import annotations

import pytest
import torch

from texnet.descriptors import (
    Descriptor1D,
    Descriptor2D,
    DescriptorConfig,
    GEMM_POSITIONS,
    build_descriptor,
    conv1d,
)

N_FREQ = 129  # FrontendConfig(n_fft=256, hop_length=64)
FRAME_RATE = 22050 / 64


def _spec(n_freq: int = N_FREQ, n_frames: int = 60, batch: int = 1, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, n_freq, n_frames, generator=g) * 2  # log-magnitude-like: positive, O(1)


def _changed_positions(desc, spec: torch.Tensor, frame: int) -> list[torch.Tensor]:
    """For each output tensor, a bool mask over positions that change when input ``frame`` changes."""
    g = torch.Generator().manual_seed(123)
    bumped = spec.clone()
    bumped[:, :, frame] += 3.0 * torch.randn(spec.shape[1], generator=g).abs() + 1.0
    a, b = desc(spec), desc(bumped)
    return [(x - y).abs().amax(dim=(0, 1)) > 1e-6 for x, y in zip(a, b)]


# ---------------------------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("frames, kernel, dilation", [(17, 11, 1), (20, 3, 4), (13, 1, 1), (40, 11, 1), (11, 11, 1)])
def test_conv1d_matches_the_module_in_value_and_input_gradient(frames, kernel, dilation):
    conv = torch.nn.Conv1d(37, 24, kernel, dilation=dilation)
    x = torch.randn(3, 37, frames, dtype=torch.float64, requires_grad=True)
    conv = conv.double()
    ours = conv1d(x, conv)
    (gx,) = torch.autograd.grad(ours.square().sum(), x)
    ref = conv(x)
    (rx,) = torch.autograd.grad(ref.square().sum(), x)
    assert ours.shape == ref.shape
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(gx, rx)


def test_conv1d_takes_the_matrix_product_only_on_few_positions(monkeypatch):
    calls = []
    conv = torch.nn.Conv1d(8, 4, 3)
    monkeypatch.setattr(torch.nn.Conv1d, "forward", lambda self, x: calls.append(x.shape[-1]) or x[:, :4, 2:])
    conv1d(torch.randn(1, 8, GEMM_POSITIONS + 1), conv)  # few positions: the matrix product, no module call
    conv1d(torch.randn(1, 8, GEMM_POSITIONS + 2), conv)  # GEMM_POSITIONS positions: the module
    assert calls == [GEMM_POSITIONS + 2]


def test_1d_output_shapes_per_branch_and_layer():
    cfg = DescriptorConfig(n_filters=16, kernel_sizes=[3, 5], dilations=[1, 2], n_layers=2, seed=0)
    d = Descriptor1D(N_FREQ, cfg)
    assert d.n_outputs == 4
    outs = d(_spec(n_frames=50, batch=2))
    # branch 0 (k=3, d=1): each layer removes 2 frames; branch 1 (k=5, d=2): each layer removes 8
    assert [tuple(o.shape) for o in outs] == [(2, 16, 48), (2, 16, 46), (2, 16, 42), (2, 16, 34)]
    assert all((o >= 0).all() for o in outs)  # post-ReLU


def test_single_dilation_applies_to_every_branch():
    d = Descriptor1D(N_FREQ, DescriptorConfig(n_filters=8, kernel_sizes=[3, 5], dilations=[2]))
    assert d.receptive_field == 1 + 4 * 2
    outs = d(_spec(n_frames=20))
    assert [o.shape[-1] for o in outs] == [20 - 4, 20 - 8]


def test_build_descriptor_dispatches_on_kind():
    assert isinstance(build_descriptor(N_FREQ, DescriptorConfig(n_filters=8)), Descriptor1D)
    assert isinstance(build_descriptor(N_FREQ, DescriptorConfig(kind="2d", channels_2d=[4])), Descriptor2D)


# ------------------------------------------------------------------------------------- receptive field


RF_CASES = [
    # kernel widths, dilations, layers, expected receptive field in frames
    ([11], [1], 1, 11),
    ([3], [1], 3, 7),
    ([3], [2], 2, 9),
    ([5], [3], 3, 37),
    ([3, 11], [1], 1, 11),
    ([3, 7], [4, 1], 2, 17),
    ([11, 11, 11], [1, 4, 16], 1, 161),
]


@pytest.mark.parametrize("ks, ds, layers, expected", RF_CASES)
def test_1d_receptive_field_formula(ks, ds, layers, expected):
    d = Descriptor1D(N_FREQ, DescriptorConfig(n_filters=8, kernel_sizes=ks, dilations=ds, n_layers=layers))
    assert d.receptive_field == expected
    assert d.receptive_field_seconds(FRAME_RATE) == pytest.approx(expected * 64 / 22050)
    assert d.receptive_field_seconds(100.0) == pytest.approx(expected / 100.0)


@pytest.mark.parametrize("ks, ds, layers, expected", RF_CASES)
def test_1d_receptive_field_measured(ks, ds, layers, expected):
    """Perturb one input frame: the positions of each branch's deepest layer that change span exactly the
    branch's receptive field (every position for dilation 1, every dilation-th one otherwise)."""
    cfg = DescriptorConfig(n_filters=24, kernel_sizes=ks, dilations=ds, n_layers=layers, seed=1)
    d = Descriptor1D(N_FREQ, cfg)
    n_frames = 2 * expected + 20
    frame = n_frames // 2
    changed = _changed_positions(d, _spec(n_frames=n_frames), frame)
    per_branch = []
    dil = ds * len(ks) if len(ds) == 1 else ds
    for b, (k, dl) in enumerate(zip(ks, dil)):
        last = changed[b * layers + layers - 1]
        idx = torch.nonzero(last).flatten()
        rf_b = 1 + layers * (k - 1) * dl
        # output position p sees input frames p .. p + rf_b - 1 (valid convolution, no padding); with
        # dilation dl only every dl-th of them, so the changed positions are frame - dl * m, m = 0 .. taps
        taps = layers * (k - 1)
        assert idx.tolist() == [frame - dl * m for m in range(taps, -1, -1)], f"branch {b}"
        span = idx.max().item() - idx.min().item() + 1
        assert span == rf_b, f"branch {b}: span {span}, expected {rf_b}"
        per_branch.append(span)
    assert max(per_branch) == d.receptive_field == expected


def test_1d_first_frame_reaches_only_first_output():
    """No padding: the first input frame influences only the first output position of each layer-1 map."""
    d = Descriptor1D(N_FREQ, DescriptorConfig(n_filters=16, kernel_sizes=[5], dilations=[2], n_layers=1))
    changed = _changed_positions(d, _spec(n_frames=30), 0)
    assert torch.nonzero(changed[0]).flatten().tolist() == [0]


def test_2d_output_shapes_and_receptive_field():
    cfg = DescriptorConfig(kind="2d", channels_2d=[4, 8], kernel_2d=3, pool_2d=2, seed=0)
    d = Descriptor2D(N_FREQ, cfg)
    assert d.n_outputs == 2
    # layer 1: 3 frames; pool 2: +1 frame, stride 2; layer 2: + 2 x 2 frames
    assert d.receptive_field == 8
    assert d.receptive_field_seconds(FRAME_RATE) == pytest.approx(8 * 64 / 22050)
    outs = d(_spec(n_frames=40, batch=2))
    # (129 - 2) x (40 - 2) after conv 1; pooled to 63 x 19; conv 2 -> 61 x 17 (pre-pool outputs returned)
    assert [tuple(o.shape) for o in outs] == [(2, 4, 127 * 38), (2, 8, 61 * 17)]
    # no pooling: receptive field grows by k - 1 per layer
    flat = Descriptor2D(N_FREQ, DescriptorConfig(kind="2d", channels_2d=[4, 4, 4], kernel_2d=5, pool_2d=1))
    assert flat.receptive_field == 13
    assert [tuple(o.shape) for o in flat(_spec(n_frames=20))] == [
        (1, 4, 125 * 16), (1, 4, 121 * 12), (1, 4, 117 * 8)
    ]


def test_2d_receptive_field_measured():
    """Last-layer time column j depends on input frames 2j .. 2j + 7 (rf 8 with stride 2), measured by
    perturbing every input frame in turn."""
    cfg = DescriptorConfig(kind="2d", channels_2d=[8, 8], kernel_2d=3, pool_2d=2, seed=3)
    d = Descriptor2D(40, cfg)  # 40 bins keep it cheap
    n_frames = 30
    spec = _spec(n_freq=40, n_frames=n_frames)
    base = d(spec)[-1]
    f_out = ((40 - 2) // 2) - 2  # 19 - 2 = 17 frequency rows in the last layer
    t_out = ((n_frames - 2) // 2) - 2
    base = base.reshape(1, 8, f_out, t_out)
    j = t_out // 2
    depends = []
    for t in range(n_frames):
        bumped = spec.clone()
        bumped[:, :, t] += 5.0
        out = d(bumped)[-1].reshape(1, 8, f_out, t_out)
        if (out[..., j] - base[..., j]).abs().max() > 1e-6:
            depends.append(t)
    assert depends == list(range(2 * j, 2 * j + d.receptive_field))


# ------------------------------------------------------------------------------------ seeds and freezing


@pytest.mark.parametrize("cfg", [
    DescriptorConfig(n_filters=16, kernel_sizes=[3, 7], dilations=[1, 2], n_layers=2, seed=5),
    DescriptorConfig(kind="2d", channels_2d=[4, 8], seed=5),
])
def test_rebuild_from_seed_and_config_is_bit_identical(cfg):
    a, b = build_descriptor(N_FREQ, cfg), build_descriptor(N_FREQ, cfg)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and len(sa) > 0
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    x = _spec(n_frames=40)
    assert all(torch.equal(u, v) for u, v in zip(a(x), b(x)))
    # the global RNG does not enter into it
    torch.manual_seed(999)
    c = build_descriptor(N_FREQ, cfg)
    assert all(torch.equal(sa[k], c.state_dict()[k]) for k in sa)
    # another seed gives other weights
    other = build_descriptor(N_FREQ, DescriptorConfig(**{**vars(cfg), "seed": 6}))
    so = other.state_dict()
    assert all(not torch.equal(sa[k], so[k]) for k in sa if k.endswith("weight"))


def test_parameters_frozen_and_gradient_reaches_input_only():
    d = Descriptor1D(N_FREQ, DescriptorConfig(n_filters=16, kernel_sizes=[3, 5], n_layers=2))
    params = list(d.parameters())
    assert params and all(not p.requires_grad for p in params)
    assert all(b.abs().max() == 0 for n, b in d.named_parameters() if n.endswith("bias"))
    d.train()  # a random descriptor has no training mode
    assert not d.training
    x = _spec(n_frames=30).requires_grad_(True)
    sum(o.pow(2).sum() for o in d(x)).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in params)

    d2 = Descriptor2D(N_FREQ, DescriptorConfig(kind="2d", channels_2d=[4, 4]))
    assert all(not p.requires_grad for p in d2.parameters())
    x2 = _spec(n_frames=20).requires_grad_(True)
    sum(o.sum() for o in d2(x2)).backward()
    assert x2.grad.abs().sum() > 0 and all(p.grad is None for p in d2.parameters())


# ------------------------------------------------------------------------------------------ He scaling


@pytest.mark.parametrize("n_freq, kernel, dilation", [(33, 3, 1), (129, 11, 1), (513, 31, 1), (129, 5, 8)])
def test_activation_scale_is_order_one_for_any_width(n_freq, kernel, dilation):
    """He init: with unit-variance input the pre-activation variance is 2, so post-ReLU E[h^2] ~ 1 in
    every layer, whatever the number of bins, kernel width, dilation or depth."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, n_freq, 400, generator=g)
    cfg = DescriptorConfig(n_filters=64, kernel_sizes=[kernel], dilations=[dilation], n_layers=3, seed=2)
    outs = Descriptor1D(n_freq, cfg)(x)
    for layer, h in enumerate(outs):
        second = h.pow(2).mean().item()
        assert 0.5 < second < 2.0, f"layer {layer}: E[h^2] = {second:.3f}"


def test_2d_activation_scale_is_order_one():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, N_FREQ, 200, generator=g)
    outs = Descriptor2D(N_FREQ, DescriptorConfig(kind="2d", channels_2d=[32, 32], kernel_2d=5, pool_2d=1))(x)
    for h in outs:
        assert 0.4 < h.pow(2).mean().item() < 2.5


# ---------------------------------------------------------------------------------------------- errors


def test_input_shorter_than_receptive_field_is_rejected():
    d = Descriptor1D(N_FREQ, DescriptorConfig(n_filters=8, kernel_sizes=[11]))
    d(_spec(n_frames=11))  # exactly the receptive field is fine: one output position
    with pytest.raises(ValueError, match=r"10 frames.*receptive field \(11 frames\)"):
        d(_spec(n_frames=10))
    d2 = Descriptor2D(N_FREQ, DescriptorConfig(kind="2d", channels_2d=[4, 4]))
    with pytest.raises(ValueError, match="receptive field"):
        d2(_spec(n_frames=d2.receptive_field - 1))


def test_wrong_frequency_count_is_rejected():
    d = Descriptor1D(N_FREQ, DescriptorConfig(n_filters=8, kernel_sizes=[3]))
    with pytest.raises(ValueError, match=r"built for 129 bins, got 65"):
        d(_spec(n_freq=65, n_frames=20))
    d2 = Descriptor2D(N_FREQ, DescriptorConfig(kind="2d", channels_2d=[4, 4]))
    with pytest.raises(ValueError, match="frequency bins"):
        d2(_spec(n_freq=5, n_frames=20))


def test_wrong_rank_is_rejected():
    d = Descriptor1D(N_FREQ, DescriptorConfig(n_filters=8, kernel_sizes=[3]))
    with pytest.raises(ValueError, match=r"\(batch, freq, time\)"):
        d(torch.rand(N_FREQ, 20))


@pytest.mark.parametrize("ks, ds", [([3, 5], [1, 2, 4]), ([3, 5, 7], [1, 2]), ([], [1])])
def test_mismatched_kernel_and_dilation_lists(ks, ds):
    with pytest.raises(ValueError, match="dilation"):
        Descriptor1D(N_FREQ, DescriptorConfig(n_filters=8, kernel_sizes=ks, dilations=ds))


@pytest.mark.parametrize("bad", [dict(kernel_sizes=[0]), dict(dilations=[0]), dict(n_layers=0), dict(n_filters=0)])
def test_non_positive_sizes_are_rejected(bad):
    with pytest.raises(ValueError, match=">= 1"):
        Descriptor1D(N_FREQ, DescriptorConfig(**{"n_filters": 8, **bad}))


def test_unknown_preset_and_kind():
    with pytest.raises(ValueError, match=r"unknown descriptor preset 'huge'.*classic"):
        DescriptorConfig.preset("huge")
    with pytest.raises(ValueError, match="unknown descriptor kind"):
        build_descriptor(N_FREQ, DescriptorConfig(kind="3d"))
    with pytest.raises(ValueError, match="kind == '1d'"):
        Descriptor1D(N_FREQ, DescriptorConfig(kind="2d"))
    with pytest.raises(ValueError, match="kind == '2d'"):
        Descriptor2D(N_FREQ, DescriptorConfig(kind="1d"))


def test_presets_have_the_documented_receptive_fields():
    expected = {"small": 11, "multiscale": 31, "dilated": 161}
    for name, rf in expected.items():
        cfg = DescriptorConfig.preset(name)
        cfg.n_filters = 8  # the receptive field does not depend on the width; keep the build cheap
        assert build_descriptor(N_FREQ, cfg).receptive_field == rf, name
    classic = DescriptorConfig.preset("classic")
    assert classic.n_filters == 4096 and classic.kernel_sizes == [11] and classic.n_layers == 1
    assert DescriptorConfig.preset("image2d").kind == "2d"
    # presets are fresh objects: editing one does not change the next
    assert DescriptorConfig.preset("small").n_filters == 512
