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
