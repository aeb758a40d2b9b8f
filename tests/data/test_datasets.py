import numpy as np
import pytest

from edgesr.data.datasets import BENCHMARKS, DATA_ENV, data_root, find_images
from edgesr.data.io import write_image
from edgesr.errors import DataError


@pytest.mark.parametrize("name, count", [("Set5", 5), ("set14", 14), ("B100", 100), ("BSD100", 100),
                                         ("Urban100", 100), ("T91", 91), ("291", 291)])
def test_finds_sets_by_name(data_root, name, count):
    images = find_images(name, data_root)
    assert len(images) == count
    assert all(p.is_file() for p in images.files)


def test_canonical_names(data_root):
    assert find_images("b100", data_root).name == "BSD100"
    assert [find_images(n, data_root).name for n in BENCHMARKS] == list(BENCHMARKS)


def test_env_var_is_the_default(data_root, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(data_root))
    assert len(find_images("Set5")) == 5


def test_missing_root_is_explained(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_ENV, raising=False)
    with pytest.raises(DataError, match="EDGESR_DATA"):
        data_root()
    with pytest.raises(DataError, match="not a folder"):
        data_root(tmp_path / "nowhere")


def test_unknown_and_absent_sets(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'Set6'.*Set5"):
        find_images("Set6", tmp_path)
    with pytest.raises(DataError, match="Set14 not found under"):
        find_images("Set14", tmp_path)


def test_div2k_layout_and_plain_folders(tmp_path, photo):
    for i in (801, 802):
        write_image(tmp_path / "DIV2K" / "DIV2K_valid_HR" / f"0{i}.png", photo)
    images = find_images("DIV2K", tmp_path)
    assert images.name == "DIV2K" and [p.stem for p in images.files] == ["0801", "0802"]
    folder = tmp_path / "mine"
    write_image(folder / "x.png", photo)
    assert len(find_images(str(folder))) == 1


def test_df2k_is_div2k_train_and_flickr2k_in_their_own_layouts(tmp_path, photo):
    write_image(tmp_path / "DIV2K" / "DIV2K_train_HR" / "0001.png", photo)
    write_image(tmp_path / "Flickr2K" / "Flickr2K_HR" / "000001.png", photo)
    images = find_images("DF2K", tmp_path)
    assert images.name == "DF2K" and [p.stem for p in images.files] == ["0001", "000001"]
    assert find_images("df2k", tmp_path).files == images.files
    assert find_images("DIV2K_train", tmp_path).name == "DIV2K_train"
    (tmp_path / "Flickr2K" / "Flickr2K_HR" / "000001.png").unlink()
    (tmp_path / "Flickr2K" / "Flickr2K_HR").rmdir()
    (tmp_path / "Flickr2K").rmdir()
    with pytest.raises(DataError, match="Flickr2K not found"):
        find_images("DF2K", tmp_path)


def test_empty_folder(tmp_path):
    (tmp_path / "Set5" / "HR").mkdir(parents=True)
    with pytest.raises(DataError, match="holds no images"):
        find_images("Set5", tmp_path)


def test_files_are_images(data_root):
    from edgesr.data.io import read_image
    img = read_image(find_images("Set14", data_root).files[1])
    assert img.dtype == np.uint8
