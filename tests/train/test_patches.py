import numpy as np
import pytest

from edgesr.data.imresize import imresize
from edgesr.evaluation.metrics import psnr
from edgesr.train.patches import PatchSampler


@pytest.fixture(scope="module")
def sampler(data_root):
    return PatchSampler(("Set5",), (2, 4), 48, "rgb", False, str(data_root))


def test_shapes_and_range(sampler):
    rng = np.random.default_rng(0)
    for scale in (2, 4):
        x, y = sampler.batch(rng, scale, 3)
        assert x.shape == (3, 3, 48 // scale, 48 // scale) and y.shape == (3, 3, 48, 48)
        assert 0 <= float(x.min()) and float(x.max()) <= 1


def test_input_and_target_cover_the_same_area(sampler):
    x, y = sampler.batch(np.random.default_rng(1), 2, 8)
    for lr, hr in zip(x.numpy(), y.numpy()):
        lr8 = (lr.transpose(1, 2, 0) * 255).round().astype(np.uint8)
        hr8 = (hr.transpose(1, 2, 0) * 255).round().astype(np.uint8)
        assert psnr(imresize(lr8, 2), hr8, shave=2) > 20  # a misaligned crop lands far lower


def test_repeatable_with_the_same_seed(sampler):
    a = sampler.batch(np.random.default_rng(5), 4, 4)
    b = sampler.batch(np.random.default_rng(5), 4, 4)
    assert all((u == v).all() for u, v in zip(a, b))


def test_pre_upsampling_y(data_root):
    s = PatchSampler(("Set5",), (3,), 30, "y", True, str(data_root))
    x, y = s.batch(np.random.default_rng(0), 3, 2)
    assert x.shape == y.shape == (2, 1, 30, 30)
    assert 16 / 255 - 1e-6 <= float(y.min()) and float(y.max()) <= 235 / 255 + 1e-6


def test_the_disk_cache_draws_the_same_batches_and_is_reused(data_root, tmp_path):
    """A set too large for memory (DIV2K, DF2K) is prepared once into memory-mapped .npy files: the
    batches are the memory sampler's, a second sampler reuses the files, a changed image is prepared again."""
    import shutil

    from edgesr.data.datasets import find_images
    from edgesr.data.io import write_image

    images = tmp_path / "mine"
    images.mkdir()
    for f in find_images("Set5", str(data_root)).files[:3]:
        shutil.copy(f, images / f.name)
    memory = PatchSampler((str(images),), (2, 3), 48, "rgb", False, cache="memory")
    cache = tmp_path / "cache"
    disk = PatchSampler((str(images),), (2, 3), 48, "rgb", False, cache=str(cache))
    files = sorted(cache.glob("*.npy"))
    assert len(files) == 3 * 3 and not list(cache.glob(".*"))  # HR + two scales per image, no temporary file
    assert isinstance(disk.pairs[2][0].lr, np.memmap)
    for scale in (2, 3):
        a, b = memory.batch(np.random.default_rng(7), scale, 6), disk.batch(np.random.default_rng(7), scale, 6)
        assert all((u == v).all() for u, v in zip(a, b))
    stamps = {f: f.stat().st_mtime_ns for f in files}
    PatchSampler((str(images),), (2, 3), 48, "rgb", False, cache=str(cache))
    assert {f: f.stat().st_mtime_ns for f in sorted(cache.glob("*.npy"))} == stamps  # reused, not rewritten
    first = sorted(images.iterdir())[0]
    write_image(first, np.zeros((60, 60, 3), np.uint8))
    PatchSampler((str(images),), (2, 3), 48, "rgb", False, cache=str(cache))
    assert len(list(cache.glob("*.npy"))) == 4 * 3  # the changed image's arrays are new files


def test_auto_uses_the_disk_cache_above_the_memory_limit(data_root, tmp_path, monkeypatch):
    import edgesr.train.patches as patches

    monkeypatch.setenv("EDGESR_CACHE", str(tmp_path))
    assert PatchSampler(("Set5",), (2,), 48, "rgb", False, str(data_root)).cache is None  # 5 images: memory
    monkeypatch.setattr(patches, "MEMORY_LIMIT", 1000)
    s = PatchSampler(("Set5",), (2,), 48, "rgb", False, str(data_root))
    assert s.cache == tmp_path / "train" and len(list(s.cache.glob("*.npy"))) == 5 * 2


def test_an_unreadable_cached_array_is_one_clear_error(data_root, tmp_path):
    from edgesr.errors import DataError

    PatchSampler(("Set5",), (2,), 48, "rgb", False, str(data_root), cache=str(tmp_path))
    victim = sorted(tmp_path.glob("*.npy"))[0]
    victim.write_bytes(victim.read_bytes()[:40])
    with pytest.raises(DataError, match="unreadable.*delete the folder"):
        PatchSampler(("Set5",), (2,), 48, "rgb", False, str(data_root), cache=str(tmp_path))


def test_augment_chooses_flips_and_rotations(data_root):
    """augment: [] gives the crops as they are; the crops themselves are the same whatever is chosen."""
    plain = PatchSampler(("Set5",), (2,), 48, "rgb", False, str(data_root), augment=())
    both = PatchSampler(("Set5",), (2,), 48, "rgb", False, str(data_root))
    a, b = plain.batch(np.random.default_rng(3), 2, 16)[1], both.batch(np.random.default_rng(3), 2, 16)[1]
    turned = [any(np.array_equal(np.rot90(x, k, axes=(1, 2))[:, :, ::f], y.numpy()) for k in range(4) for f in (1, -1))
              for x, y in zip(a.numpy(), b)]
    assert all(turned) and not all(np.array_equal(x, y) for x, y in zip(a.numpy(), b.numpy()))
