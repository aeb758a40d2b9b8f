import numpy as np

from edgesr.data.color import rgb_to_ycbcr, to_uint8, to_y, ycbcr_to_rgb


def test_matlab_formula_values():
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [10, 200, 30]]], dtype=np.uint8)
    y = to_y(rgb)
    np.testing.assert_allclose(y[0, :3], [16.0, 235.0, 16 + 65.481])
    assert y[0, 3] == 16 + (65.481 * 10 + 128.553 * 200 + 24.966 * 30) / 255
    np.testing.assert_allclose(rgb_to_ycbcr(rgb)[0, 1], [235, 128, 128], atol=1e-9)


def test_gray_is_its_own_y():
    g = np.array([[0, 17, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(to_y(g), [[0.0, 17.0, 255.0]])


def test_roundtrip(photo):
    back = ycbcr_to_rgb(rgb_to_ycbcr(photo))
    np.testing.assert_allclose(back, photo, atol=1e-9)
    np.testing.assert_array_equal(to_uint8(back), photo)


def test_to_uint8_rounds_half_up_and_clamps():
    np.testing.assert_array_equal(to_uint8(np.array([-3.0, 0.49, 0.5, 254.5, 300.0])), [0, 0, 1, 255, 255])
