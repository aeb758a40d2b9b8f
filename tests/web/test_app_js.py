"""The web app's pixel maths and contract reader (apps/web, run in Node) against edgesr's Python on
the same inputs, made here: MATLAB imresize bit-exact, BT.601 colour, float16 rounding, and the
contract read from the artifact's bytes alone."""

import json

import numpy as np
import pytest

from edgesr.data.color import rgb_to_ycbcr, to_uint8, ycbcr_to_rgb
from edgesr.data.imresize import imresize
from edgesr.formats.registry import read_contract
from tests.web.conftest import nearest_x2_artifact, run_node


def test_imresize_is_matlabs_bit_for_bit(tmp_path, rng):
    cases = [((37, 53, 3), 2), ((37, 53, 3), 3), ((21, 16, 3), 4), ((64, 48, 1), 1 / 2), ((75, 51, 3), 1 / 3),
             ((40, 44, 3), 1 / 4), ((9, 13, 3), 8)]
    tasks, expected = [], []
    for i, (shape, scale) in enumerate(cases):
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        (tmp_path / f"in{i}").write_bytes(image.tobytes())
        tasks.append({"op": "imresize", "input": str(tmp_path / f"in{i}"), "output": str(tmp_path / f"out{i}"),
                      "h": shape[0], "w": shape[1], "c": shape[2], "scale": scale})
        expected.append(imresize(image if shape[2] > 1 else image[..., 0], scale))
    run_node(tasks, tmp_path)
    for i, want in enumerate(expected):
        got = np.frombuffer((tmp_path / f"out{i}").read_bytes(), np.uint8).reshape(want.shape)
        assert np.array_equal(got, want), f"case {cases[i]}: {np.abs(got.astype(int) - want).max()} levels off"


def test_colour_conversions_follow_matlab(tmp_path, rng):
    n = 4096
    rgb = rng.integers(0, 256, (n, 3), dtype=np.uint8)
    ycbcr = rgb_to_ycbcr(rgb)
    ycbcr[:, 0] = rng.integers(16, 236, n)  # a Y network's rounded Y with the bicubic chroma
    (tmp_path / "rgb").write_bytes(rgb.tobytes())
    (tmp_path / "ycbcr").write_bytes(np.ascontiguousarray(ycbcr.T).tobytes())
    run_node([{"op": "ycbcr", "input": str(tmp_path / "rgb"), "output": str(tmp_path / "planes"), "n": n},
              {"op": "rgb", "input": str(tmp_path / "ycbcr"), "output": str(tmp_path / "back"), "n": n}], tmp_path)
    planes = np.frombuffer((tmp_path / "planes").read_bytes(), np.float64).reshape(3, n).T
    assert np.abs(planes - rgb_to_ycbcr(rgb)).max() < 1e-9
    back = np.frombuffer((tmp_path / "back").read_bytes(), np.uint8).reshape(n, 3)
    assert np.array_equal(back, to_uint8(ycbcr_to_rgb(ycbcr)))


def test_float16_rounds_as_numpy(tmp_path, rng):
    values = np.concatenate([rng.normal(0, 3, 5000), rng.uniform(-1e-5, 1e-5, 2000), [0.0, -0.0, 65504, 70000, 1e-8,
                                                                                       np.inf, -np.inf]])
    values = values.astype(np.float32)
    (tmp_path / "f32").write_bytes(values.tobytes())
    run_node([{"op": "half", "input": str(tmp_path / "f32"), "output": str(tmp_path / "f16")}], tmp_path)
    got = np.frombuffer((tmp_path / "f16").read_bytes(), np.uint16)
    with np.errstate(over="ignore"):  # 70000 is past float16's largest: inf, in both
        assert np.array_equal(got, values.astype(np.float16).view(np.uint16))


def test_the_contract_is_read_from_the_artifact_alone(tmp_path):
    artifact = nearest_x2_artifact(tmp_path, scales=(2, 3), scale_input="scale")
    bare = tmp_path / "bare.onnx"
    bare.write_bytes(b"\x08\x07\x12\x06edgesr")  # ir_version 7, producer_name "edgesr": no metadata_props
    run_node([{"op": "contract", "input": str(artifact), "output": str(tmp_path / "c.json"), "name": artifact.name},
              {"op": "contract", "input": str(bare), "output": str(tmp_path / "bare.json"), "name": "bare.onnx"},
              {"op": "contract", "input": str(tmp_path / "c.json"), "output": str(tmp_path / "junk.json"),
               "name": "c.json"}], tmp_path)
    assert json.loads((tmp_path / "c.json").read_text()) == read_contract(artifact)
    refused = json.loads((tmp_path / "bare.json").read_text())
    assert refused["kind"] == "ContractError"
    assert refused["error"].startswith("bare.onnx carries no edgesr I/O contract")
    assert "edgesr export -f onnx" in refused["error"]
    junk = json.loads((tmp_path / "junk.json").read_text())
    assert "not an ONNX model" in junk["error"] or "no edgesr I/O contract" in junk["error"]


def test_node_unit_tests_pass():
    """apps/web/test (node --test): the protobuf reader, tiles and padding on hand-made inputs."""
    import shutil
    import subprocess

    from tests.web.conftest import APP

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (apt-get install nodejs)")
    result = subprocess.run([node, "--test", "test/"], cwd=APP, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
