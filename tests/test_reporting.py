"""Pictures: decimation keeps the shape bounded, the maxima and the true time extent."""
import torch

from texnet.reporting import decimate, spectrogram_figure


def test_decimate_bounds_the_picture_and_keeps_every_peak():
    spec = torch.rand(1025, 25_841)
    spec[700, 12_345] = 5.0  # one frame, one bin: a click or a line must stay visible
    small, k = decimate(spec, max_frames=2048, max_bins=512)
    assert small.shape[0] == 512 and small.shape[1] <= 2048
    assert k == -(-25_841 // 2048) and small.shape[1] == -(-25_841 // k)
    assert small.max() == 5.0 and small.min() >= spec.min()
    assert torch.equal(small[:, 12_345 // k].max(), torch.tensor(5.0))


def test_decimate_leaves_small_spectrograms_alone():
    spec = torch.rand(65, 300)
    small, k = decimate(spec)
    assert k == 1 and torch.equal(small, spec)


def test_decimate_commutes_with_an_increasing_log_scale():
    mag = torch.rand(600, 5000) * 10
    a, _ = decimate(torch.log1p(mag), 1000, 200)
    b, _ = decimate(mag, 1000, 200)
    torch.testing.assert_close(a, torch.log1p(b))


def test_figure_of_a_decimated_spectrogram_spans_its_true_duration():
    import matplotlib.pyplot as plt

    frame_rate = 43.0
    fig = spectrogram_figure({"long": torch.rand(100, 10_000)}, frame_rate)
    try:
        image = fig.axes[0].images[0]
        left, right, _, _ = image.get_extent()
        assert image.get_array().shape[1] <= 2048
        assert abs(right - 10_000 / frame_rate) < 5 / frame_rate  # the last pooled column may be partial
    finally:
        plt.close(fig)


def test_spectrogram_figure_wraps_panels_into_rows():
    specs = {f"panel {i}": torch.rand(20, 30 + i) for i in range(7)}
    fig = spectrogram_figure(specs, 43.0, torch.linspace(0, 11025, 20), title="seven", columns=4)
    shown = [ax for ax in fig.axes if ax.get_visible() and ax.get_title().startswith("panel")]
    assert [ax.get_title() for ax in shown] == list(specs)
    rows = sorted({round(ax.get_position().y0, 3) for ax in shown})
    assert len(rows) == 2 and sum(ax.get_position().y0 > rows[0] + 1e-3 for ax in shown) == 4
    # time labels only under each column's bottom panel (the top row's fourth has no panel below it)
    assert [bool(ax.get_xlabel()) for ax in shown] == [False, False, False, True, True, True, True]
