"""Copy image sets as lossless WebP (same pixels, smaller) so they fit what travels to a device.

    python scripts/pack_sets.py SRC_ROOT DST_ROOT SET [SET ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from edgesr.data.datasets import find_images
from edgesr.data.io import read_image


def main() -> None:
    src, dst, *sets = sys.argv[1:]
    for name in sets:
        images = find_images(name, src)
        out = Path(dst) / images.name / "HR"
        out.mkdir(parents=True, exist_ok=True)
        for path in images.files:
            pixels = read_image(path)
            target = out / f"{path.stem}.webp"
            Image.fromarray(pixels).save(target, lossless=True, quality=100, method=6)
            if not np.array_equal(read_image(target), pixels):
                raise SystemExit(f"{target}: WebP round trip changed pixels")
        print(f"{images.name}: {len(images)} images -> {out}")


if __name__ == "__main__":
    main()
