"""Activation ranges travel into the artifacts by value: a tensor holding a rounding point's values
(in NCHW, NHWC, or rearranged by a pixel shuffle) takes that point's range and width."""

import numpy as np
import torch

from edgesr.formats.ranges import match_point, merge


def _points():
    rng = np.random.default_rng(0)
    head = rng.standard_normal((1, 12, 6, 6)).astype(np.float32)
    other = rng.standard_normal((1, 12, 6, 6)).astype(np.float32)
    return [(other, -1.0, 1.0, 8), (head, -2.0, 2.0, 16)], head


def test_match_by_value_in_either_layout():
    points, head = _points()
    assert match_point(head + 1e-6, points, nhwc=False)[1:] == (-2.0, 2.0, 16)
    assert match_point(head.transpose(0, 2, 3, 1), points, nhwc=False) is not None  # a rearrangement, see below
    assert match_point(head.transpose(0, 2, 3, 1), points, nhwc=True)[1:] == (-2.0, 2.0, 16)
    assert match_point(head + 0.1, points, nhwc=True) is None


def test_match_a_pixel_shuffled_tensor():
    """The shared ONNX graph's tail starts at the shuffled head output: same values, other shape."""
    points, head = _points()
    shuffled = torch.nn.functional.pixel_shuffle(torch.from_numpy(head), 2).numpy()
    assert shuffled.shape == (1, 3, 12, 12)
    assert match_point(shuffled, points, nhwc=False)[1:] == (-2.0, 2.0, 16)
    assert match_point(np.zeros_like(shuffled), points, nhwc=False) is None


def test_merge_takes_the_union_and_the_wider_width():
    merged = merge([{"a": (-1.0, 2.0, 8), "b": (0.0, 1.0, 8)}, {"a": (-3.0, 1.0, 16)}])
    assert merged == {"a": (-3.0, 2.0, 16), "b": (0.0, 1.0, 8)}


def test_ranges_are_calibrated_once_per_model_weights_and_inputs(monkeypatch):
    """Exports of one model to several formats in one process measure its ranges once; the same
    inputs with other weights (a model changed in place since) are measured afresh."""
    from edgesr.formats import ranges
    from edgesr.models import create_model
    from edgesr.train import qat

    calls = []
    real = qat.QuantSim.calibrate
    monkeypatch.setattr(qat.QuantSim, "calibrate", lambda self: (calls.append(1), real(self))[1])
    monkeypatch.setattr(ranges, "_CALIBRATED", type(ranges._CALIBRATED)())
    model = create_model("espcn", scale=2).eval()
    rng = np.random.default_rng(0)
    inputs = [rng.random((1, 1, 20, 20), dtype=np.float32) for _ in range(3)]
    first = ranges.range_points(model, 2, inputs, inputs[0])
    again = ranges.range_points(model, 2, [x.copy() for x in inputs], inputs[0])
    assert len(calls) == 1
    assert [p[1:] for p in first] == [p[1:] for p in again]
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, again, strict=True))
    with torch.no_grad():
        next(model.parameters()).mul_(3.0)  # the same object, other weights
    changed = ranges.range_points(model, 2, inputs, inputs[0])
    assert len(calls) == 2 and [p[1:] for p in changed] != [p[1:] for p in first]
    ranges.range_points(model, 2, inputs[:2], inputs[0])  # other inputs
    assert len(calls) == 3
