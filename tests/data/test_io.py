import os

import numpy as np
import pytest
from PIL import Image

from edgesr.data.io import check_images, list_images, read_image, write_image
from edgesr.errors import ImageError


@pytest.mark.parametrize("suffix", [".png", ".bmp"])
def test_lossless_roundtrip_rgb_and_gray(tmp_path, photo, suffix):
    for img in (photo, photo[..., 0]):
        path = write_image(tmp_path / f"a{suffix}", img)
        back = read_image(path)
        assert back.dtype == np.uint8
        np.testing.assert_array_equal(back, img)


def test_jpeg_reads_as_rgb(tmp_path, photo):
    path = write_image(tmp_path / "a.jpg", photo)
    back = read_image(path)
    assert back.shape == photo.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - photo).mean() < 8


def test_palette_expands_to_rgb(tmp_path, photo):
    img = Image.fromarray(photo).quantize(16)
    img.save(tmp_path / "p.png")
    out = read_image(tmp_path / "p.png")
    np.testing.assert_array_equal(out, np.asarray(img.convert("RGB")))


def test_bilevel_becomes_gray(tmp_path):
    Image.fromarray(np.eye(8, dtype=np.uint8) * 255).convert("1").save(tmp_path / "b.png")
    out = read_image(tmp_path / "b.png")
    assert out.ndim == 2 and set(np.unique(out)) == {0, 255}


def test_opaque_alpha_dropped_transparent_refused(tmp_path, photo):
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "opaque.png")
    np.testing.assert_array_equal(read_image(tmp_path / "opaque.png"), photo)
    rgba[0, 0, 3] = 10
    Image.fromarray(rgba).save(tmp_path / "holes.png")
    with pytest.raises(ImageError, match="transparent"):
        read_image(tmp_path / "holes.png")


def test_sixteen_bit_refused(tmp_path):
    Image.fromarray((np.arange(64, dtype=np.uint16) * 1000).reshape(8, 8)).save(tmp_path / "deep.png")
    with pytest.raises(ImageError, match="16-bit"):
        read_image(tmp_path / "deep.png")
    Image.fromarray(np.zeros((4, 4), np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(ImageError, match="8 bit"):
        read_image(tmp_path / "f.tif")


def test_sixteen_bit_rgb_tiff_refused(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    tifffile.imwrite(tmp_path / "deep.tif", np.full((4, 5, 3), 40000, np.uint16), photometric="rgb")
    with Image.open(tmp_path / "deep.tif") as img:
        assert img.mode == "RGB"  # Pillow would hand back 8 bits of it without a word
    with pytest.raises(ImageError, match="16-bit"):
        read_image(tmp_path / "deep.tif")


def test_check_images_names_every_bad_file_without_decoding(tmp_path, photo):
    write_image(tmp_path / "a.png", photo)
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "c.jpg")
    (tmp_path / "t.png").write_bytes(b"not an image")
    check_images([tmp_path / "a.png"])
    with pytest.raises(ImageError, match=r"c.jpg: CMYK .* \(and 1 more: .*t.png"):
        check_images(sorted(tmp_path.iterdir()))


def test_too_many_pixels_is_one_line(tmp_path, monkeypatch):
    Image.new("L", (64, 64)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageError, match="edgesr reads at most 0 MP"):
        read_image(tmp_path / "big.png")


def test_png_writer_round_trips_and_honours_umask(tmp_path, photo):
    old = os.umask(0o027)
    try:
        for image in (photo, photo[..., 1], photo[:1, :1], np.zeros((3, 70), np.uint8)):
            write_image(tmp_path / "o.png", image)
            with Image.open(tmp_path / "o.png") as img:
                np.testing.assert_array_equal(np.asarray(img), image)
        assert (tmp_path / "o.png").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)
    with pytest.raises(ImageError, match="cannot write .webp"):
        write_image(tmp_path / "o.webp", photo)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.png"]


def test_cmyk_refused(tmp_path, photo):
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "c.jpg")
    with pytest.raises(ImageError, match="CMYK"):
        read_image(tmp_path / "c.jpg")


def test_exif_orientation_applied(tmp_path, photo):
    img = Image.fromarray(photo)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    img.save(tmp_path / "r.jpg", exif=exif, quality=100)
    out = read_image(tmp_path / "r.jpg")
    assert out.shape == (photo.shape[1], photo.shape[0], 3)


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n\x00\x00garbage"])
def test_corrupt_file_is_one_clear_error(tmp_path, content):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageError, match="bad.png: cannot read"):
        read_image(path)


def test_truncated_png(tmp_path, photo):
    write_image(tmp_path / "t.png", photo)
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cannot read"):
        read_image(tmp_path / "t.png")


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="no such image"):
        read_image(tmp_path / "nope.png")


def test_write_refuses_bad_arrays_and_leaves_no_file(tmp_path):
    with pytest.raises(ImageError):
        write_image(tmp_path / "x.png", np.zeros((4, 4), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_list_images_sorted_and_filtered(tmp_path, photo):
    for name in ("b.png", "a.JPG", "c.bmp"):
        write_image(tmp_path / name, photo)
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in list_images(tmp_path)] == ["a.JPG", "b.png", "c.bmp"]
