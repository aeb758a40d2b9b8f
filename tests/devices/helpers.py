"""Helpers shared by the device tests."""


def bench_on_device(profile, weights, data_root, tmp_path, formats: str, precisions: str) -> dict:
    """`edgesr bench --device PROFILE` on espcn x2 (small and quick); returns bench.json."""
    import json

    from click.testing import CliRunner

    from edgesr.cli import main

    out = tmp_path / "bench"
    result = CliRunner().invoke(main, [
        "bench", "--model", "espcn", "--scales", "2", "--formats", formats, "--precisions", precisions,
        "--weights", str(weights["espcn"]), "--input-size", "32x32", "--min-runs", "2", "--min-seconds", "0",
        "--device", str(profile), "--data-root", str(data_root), "--output", str(out),
        "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    return json.loads((out / "bench.json").read_text())
