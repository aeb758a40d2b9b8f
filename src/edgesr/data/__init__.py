"""Images, MATLAB-compatible resizing, colour, degradation and benchmark sets."""

from edgesr.data.color import rgb_to_ycbcr, to_uint8, to_y, ycbcr_to_rgb
from edgesr.data.datasets import BENCHMARKS, DATA_ENV, ImageSet, data_root, find_images
from edgesr.data.degrade import check_scale, degrade, degrade_folder, modcrop
from edgesr.data.imresize import imresize
from edgesr.data.io import read_image, write_image

__all__ = [
    "BENCHMARKS",
    "DATA_ENV",
    "ImageSet",
    "check_scale",
    "data_root",
    "degrade",
    "degrade_folder",
    "find_images",
    "imresize",
    "modcrop",
    "read_image",
    "rgb_to_ycbcr",
    "to_uint8",
    "to_y",
    "write_image",
    "ycbcr_to_rgb",
]
