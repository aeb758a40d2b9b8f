"""The I/O contract inside OpenVINO artifacts (rt_info in model.xml), read back from the artifact alone."""

import json
import shutil

import pytest

from edgesr.errors import ArtifactError
from edgesr.formats.registry import read_contract
from edgesr.manifest import manifest_path, read_manifest

ov = pytest.importorskip("openvino", reason="the openvino extra is not installed: pip install 'edgesr[openvino]'")


@pytest.fixture(scope="module")
def exported(tmp_path_factory, weights, data_root):
    from edgesr.conversion.api import export_model

    out = tmp_path_factory.mktemp("openvino-metadata")
    return {"espcn": export_model("espcn", 2, "openvino", out, weights=weights["espcn"], data_root=str(data_root)),
            "shared": export_model("masrn", (2, 3, 4), "openvino", out, weights=weights["masrn"],
                                   data_root=str(data_root), check=False)}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["espcn", "shared"])
def test_the_contract_round_trips_and_openvino_reads_it(exported, kind, alone):
    copy, expected = alone(exported[kind])
    assert read_contract(copy) == expected
    model = ov.Core().read_model(str(copy / "model.xml"))  # what an app gets from Model.get_rt_info()
    assert json.loads(model.get_rt_info(["edgesr"]).astype(str)) == expected
    manifest = read_manifest(exported[kind])
    assert model.get_rt_info(["edgesr_keys", "colour"]).astype(str) == manifest.colour
    assert model.get_rt_info(["edgesr_keys", "scales"]).astype(str) == ",".join(map(str, manifest.scales))
    assert manifest.model in model.get_rt_info(["edgesr_keys", "description"]).astype(str)
    if kind == "shared":
        assert expected["scale_input"] == "scale" and [h["scale"] for h in expected["heads"]] == [2, 3, 4]
    # the manifest's op census reads the If's branches too: every pixel shuffle is one DepthToSpace
    # (one per masrn head; its image residual is a nearest-neighbour Interpolate)
    ops = manifest.ops
    assert ops["ops"]["DepthToSpace"] == (1 if kind == "espcn" else 3) and ops["ops"].get("Transpose", 0) == 0
    if kind == "shared":
        assert ops["ops"]["Interpolate"] == 3
    assert ops["max_rank"] == 4 and ops["above_rank4"] == [] and ops["cpu_fallback"] == []


@pytest.mark.slow
def test_the_contract_is_part_of_the_sha256_and_a_bad_graph_is_one_line(exported, tmp_path):
    src = exported["espcn"]
    copy = tmp_path / src.name
    shutil.copytree(src, copy)
    shutil.copy(manifest_path(src), manifest_path(copy))
    graph = copy / "model.xml"
    graph.write_text(graph.read_text().replace('<colour value="y"', '<colour value="rgb"'))
    with pytest.raises(ArtifactError, match="sha256 differs from the manifest"):
        read_manifest(copy)
    graph.write_text("<net><layers>")
    with pytest.raises(ArtifactError, match=r"cannot read .*model.xml as an OpenVINO IR .*; re-export it"):
        read_contract(copy)
    graph.unlink()
    with pytest.raises(ArtifactError, match="a folder holding model.xml and model.bin"):
        read_contract(copy)
