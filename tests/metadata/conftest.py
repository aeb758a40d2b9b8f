"""What the metadata tests share."""

import shutil

import pytest

from edgesr.manifest import manifest_path, read_manifest


@pytest.fixture
def alone(tmp_path):
    """``alone(artifact)``: a copy of the artifact (file or package folder) with no manifest beside
    it, and the contract its manifest gives."""

    def copy_alone(artifact):
        expected = read_manifest(artifact).contract()
        copy = tmp_path / artifact.name
        (shutil.copytree if artifact.is_dir() else shutil.copy)(artifact, copy)
        assert not manifest_path(copy).exists()
        return copy, expected

    return copy_alone
