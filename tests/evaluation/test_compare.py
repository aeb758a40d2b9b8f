"""compare_outputs: two upscalers' outputs on the same LR images, per image and overall."""

import numpy as np

from edgesr.data.datasets import ImageSet
from edgesr.data.imresize import imresize
from edgesr.data.io import write_image
from edgesr.evaluation.compare import compare_outputs
from edgesr.inference import SRImage


def test_largest_difference_and_psnr_per_image(tmp_path, photo):
    files = (write_image(tmp_path / "a.png", photo), write_image(tmp_path / "b.png", photo[:, ::-1]))
    images = ImageSet("two", files)

    def bicubic(lr, scale):
        return SRImage(imresize(lr, scale))

    def brighter(lr, scale):
        return SRImage(np.clip(imresize(lr, scale).astype(int) + 3, 0, 255).astype(np.uint8))

    seen = []
    same = compare_outputs(bicubic, bicubic, images, 2, labels=("x", "y"), progress=seen.append)
    assert [r.name for r in seen] == ["a", "b"] and same.worst == 0 and same.labels == ("x", "y")
    assert all(r.psnr == float("inf") for r in same.images)
    off = compare_outputs(bicubic, brighter, images, 2)
    assert off.worst == 3 and off.dataset == "two" and off.scale == 2
    assert all(35 < r.psnr < 45 for r in off.images)  # a uniform offset of about 3 levels: about 38.6 dB
