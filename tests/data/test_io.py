import numpy as np
import pytest
from PIL import Image

from edgesr.data.io import list_images, read_image, write_image
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
