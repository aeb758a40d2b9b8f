"""The README's screenshot of the web app: headless Chromium (1280x800) on `edgesr serve`'s page after it
upscaled a Set5 image (LR made here with edgesr's MATLAB-bicubic degradation) through an ONNX artifact.

    python scripts/web_screenshot.py                       # exports the shipped masrn (x2/x3/x4) first
    python scripts/web_screenshot.py -a masrn_x2-3-4_fp32_dynamic.onnx --image baby --scale 4

Needs Chromium and chromedriver (apt-get install chromium chromium-driver), selenium
(pip install 'edgesr[web]') and onnxruntime-web (npm ci --prefix apps/web). The PNG is reduced to a
256-colour palette so that it stays commit-sized."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-a", "--artifact", type=Path, help="an ONNX artifact [default: export the shipped masrn]")
    parser.add_argument("--image", default="baby", help="a Set5 image's name [default: baby]")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--tile", type=int, default=64, help="tile side, network-input pixels [default: 64]")
    parser.add_argument("--before", choices=["nearest", "bicubic"], default="nearest")
    parser.add_argument("--size", default="1280x800", help="viewport WxH [default: 1280x800]")
    parser.add_argument("-o", "--out", type=Path, default=REPO / "docs" / "web-app.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        artifact = args.artifact or _export(Path(tmp))
        shot(artifact, args, Path(tmp))
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")


def _export(folder: Path) -> Path:
    from edgesr.conversion.api import export_model

    print("exporting the shipped masrn (x2, x3, x4) to ONNX...")
    return export_model("masrn", (2, 3, 4), "onnx", folder, check=False)


def shot(artifact: Path, args, tmp: Path) -> None:
    from PIL import Image

    from edgesr.data.datasets import find_images
    from edgesr.data.degrade import degrade
    from edgesr.data.io import read_image, write_image
    from edgesr.web.browser import Browser

    hr_path = next(p for p in find_images("Set5").files if p.stem == args.image)
    lr, _ = degrade(read_image(hr_path), args.scale)
    png = write_image(tmp / f"{args.image}.png", lr).read_bytes()
    width, height = (int(v) for v in args.size.lower().split("x"))
    with Browser(artifact, size=(width, height)) as browser:
        info = browser.load()
        print(f"loaded in {info['ms'] / 1000:.2f} s ({info['backend']}, {info['threads']} thread(s))")
        browser.call("call(async () => { const s = document.getElementById('before-mode'); s.value = args[0];"
                     " s.dispatchEvent(new Event('change')); });", args.before)
        out = browser.upscale_file(png, args.scale, tile=args.tile, name=f"{args.image}.png")
        print(f"{args.image} x{args.scale}: {out.tiles} tiles in {out.ms / 1000:.2f} s")
        browser.screenshot(tmp / "page.png")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.open(tmp / "page.png").convert("RGB").quantize(256, dither=Image.Dither.NONE).save(args.out, optimize=True)


if __name__ == "__main__":
    main()
