import numpy as np
import pytest
import torch

from edgesr.data.color import rgb_to_ycbcr, to_y
from edgesr.data.imresize import imresize
from edgesr.errors import EdgesrError, ImageError, ModelError, ScaleError
from edgesr.inference import super_resolve, torch_upscaler, upscale
from edgesr.models import create_model, get_spec, list_models
from edgesr.runtimes.torch import TorchRunner


def test_bicubic_model_is_matlab_bicubic(photo):
    sr = torch_upscaler(create_model("bicubic"))(photo, 3)
    np.testing.assert_array_equal(sr.image, imresize(photo, 3))
    np.testing.assert_array_equal(sr.y, to_y(sr.image))


@pytest.mark.parametrize("name", list_models())
def test_every_model_rgb_and_gray(name, photo):
    spec = get_spec(name)
    scale = spec.scales[0]
    model = create_model(name, scale=scale)
    up = torch_upscaler(model)
    for lr in (photo[:16, :20], photo[:16, :20, 1]):
        sr = up(lr, scale)
        assert sr.image.dtype == np.uint8
        assert sr.image.shape[:2] == (16 * scale, 20 * scale)
        assert sr.image.ndim == lr.ndim
        assert sr.y.shape == (16 * scale, 20 * scale)


def test_y_model_keeps_bicubic_chroma(photo):
    # an untrained VDSR with a zeroed tail is the identity on Y: the output is the bicubic image
    model = create_model("vdsr")
    torch.nn.init.zeros_(model.tail.weight)
    torch.nn.init.zeros_(model.tail.bias)
    sr = torch_upscaler(model)(photo, 2)
    bic = imresize(photo, 2)
    np.testing.assert_array_equal(sr.y, np.floor(rgb_to_ycbcr(bic)[..., 0] + 0.5))
    assert np.abs(sr.image.astype(int) - bic).max() <= 1


def test_wrong_output_shape_is_caught(photo):
    spec = get_spec("bicubic")
    with pytest.raises(ModelError, match="returned shape"):
        super_resolve(photo, 2, spec, lambda x: x[..., :-1, :])  # a network that loses a row
    # a post model that forgot to upscale
    with pytest.raises(ModelError, match="expected 1 x C"):
        super_resolve(photo, 2, get_spec("espcn"), lambda x: x)


def test_bad_inputs(photo):
    up = torch_upscaler(create_model("bicubic"))
    with pytest.raises(ImageError):
        up(photo.astype(np.float32), 2)
    with pytest.raises(ImageError):
        up(np.zeros((4, 4, 4), np.uint8), 2)
    with pytest.raises(ScaleError):
        up(photo, 5)


def test_runner_contract(photo):
    model = create_model("espcn", scale=2)
    runner = TorchRunner(model, 2)
    x = np.zeros((1, 1, 8, 8), np.float32)
    with pytest.raises(EdgesrError, match="not active"):
        runner.run(x)
    with runner:
        assert runner.run(x).shape == (1, 1, 16, 16)
        with pytest.raises(EdgesrError, match="N x 1 x H x W"):
            runner.run(np.zeros((1, 3, 8, 8), np.float32))
        assert upscale(runner, photo[:8, :9]).image.shape == (16, 18, 3)
    assert not runner.active


def test_tiny_images_are_not_darkened_by_the_border():
    """A 1x1 grey image through fsrcnn x4 came out black (every pixel is border, and the convs pad with
    zeros); images narrower than MIN_SIDE run edge-padded and are cropped back."""
    from edgesr.models.weights import load_model

    with TorchRunner(load_model("fsrcnn", 4), 4) as runner:
        for shape in [(1, 1), (1, 1, 3), (2, 40), (15, 3, 3)]:
            sr = upscale(runner, np.full(shape, 128, np.uint8))
            assert sr.image.shape[:2] == (shape[0] * 4, shape[1] * 4)
            assert np.abs(sr.image.astype(int) - 128).max() <= 4, (shape, sr.image.min(), sr.image.max())
