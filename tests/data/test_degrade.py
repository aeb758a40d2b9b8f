import numpy as np
import pytest

from edgesr.data.batch import BatchError
from edgesr.data.degrade import check_scale, degrade, degrade_folder, modcrop
from edgesr.data.imresize import imresize
from edgesr.data.io import read_image, write_image
from edgesr.errors import DataError, ScaleError


def test_modcrop_crops_right_and_bottom(photo):
    out = modcrop(photo[:47, :59], 4)
    assert out.shape == (44, 56, 3)
    np.testing.assert_array_equal(out, photo[:44, :56])


@pytest.mark.parametrize("bad", [1, 0, 9, 2.0, "2", True])
def test_check_scale(bad):
    with pytest.raises(ScaleError):
        check_scale(bad)


def test_degrade_is_modcrop_then_imresize(photo):
    lr, hr = degrade(photo[:47], 3)
    assert hr.shape == (45, 60, 3) and lr.shape == (15, 20, 3)
    np.testing.assert_array_equal(lr, imresize(photo[:45], 1 / 3))


def test_degrade_folder_writes_png(tmp_path, photo):
    src, dst = tmp_path / "hr", tmp_path / "lr"
    write_image(src / "a.png", photo)
    write_image(src / "b.bmp", photo[..., 0])
    written = degrade_folder(src, dst, 4).written
    assert sorted(p.name for p in written) == ["a.png", "b.png"]
    np.testing.assert_array_equal(read_image(dst / "a.png"), imresize(photo, 1 / 4))
    assert read_image(dst / "b.png").shape == (12, 15)


def test_degrade_folder_errors(tmp_path, photo):
    with pytest.raises(DataError):
        degrade_folder(tmp_path / "none", tmp_path / "lr", 2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        degrade_folder(tmp_path / "empty", tmp_path / "lr", 2)
    write_image(tmp_path / "hr" / "a.png", photo)
    (tmp_path / "hr" / "m.png").write_bytes(b"broken")
    write_image(tmp_path / "hr" / "z.png", photo)
    reported = []
    result = degrade_folder(tmp_path / "hr", tmp_path / "lr", 2, report=reported.append)
    # the batch goes on past the bad image and says which one failed
    assert [p.name for p, _ in result.failed] == ["m.png"] and "m.png" in reported[0]
    with pytest.raises(BatchError, match=r"1 of 3 images failed \(m.png"):
        result.check()
    # what was written is whole; nothing half-written or temporary remains
    assert sorted(p.name for p in (tmp_path / "lr").iterdir()) == ["a.png", "z.png"]


def test_degrade_folder_never_replaces_or_merges(tmp_path, photo):
    write_image(tmp_path / "hr" / "x.png", photo)
    write_image(tmp_path / "hr" / "x.jpg", photo)
    with pytest.raises(DataError, match="would both be written to"):
        degrade_folder(tmp_path / "hr", tmp_path / "lr", 2)
    with pytest.raises(DataError, match="holds input images"):
        degrade_folder(tmp_path / "hr", tmp_path / "hr", 2)
    assert not (tmp_path / "lr").exists()
