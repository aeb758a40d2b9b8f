"""bench.png stays readable with 20 rows close together: every point its own colour and a marker
per format, named in a legend beside the axes instead of labels piled on the points."""

import pytest

from edgesr.benchmark.report import plot_figure, row_name, write_plot

pytest.importorskip("matplotlib", reason="the bench extra is not installed: pip install 'edgesr[bench]'")


def _report(n: int) -> dict:
    formats = ["pytorch", "onnx", "tflite", "openvino", "executorch"]
    rows = [{"format": formats[i % 5], "precision": ("fp32", "fp16", "int8", "w8a16")[i // 5 % 4], "mode": "",
             "quant": "", "scale": 4, "status": "passed", "latency_ms": 300 + 3 * i, "psnr": 30.95 + 0.001 * i,
             "of_peak": 0.5} for i in range(n)]
    return {"model": "masrn", "dataset": "Set5", "baseline": "PyTorch FP32 on this CPU", "input_size": "256x256",
            "rows": rows, "peak": {"cpu": {"gflops": 150.0}}, "gflop_per_frame": {"x4": 39.8}}


def test_twenty_rows_each_named_once_in_a_legend_with_its_own_colour(tmp_path):
    import matplotlib.pyplot as plt

    report = _report(20)
    fig = plot_figure(report)
    ax = fig.axes[0]
    assert len(ax.texts) == 0  # nothing written over the points
    legend = ax.get_legend()
    names = [t.get_text() for t in legend.get_texts()]
    assert names[:20] == [f"{row_name(r)}, 50% of peak" for r in report["rows"]] and names[20] == "FLOPs / CPU peak, x4"
    colours = {tuple(c.get_facecolor()[0]) for c in ax.collections}
    assert len(ax.collections) == 20 and len(colours) == 20
    fig.canvas.draw()  # the legend sits right of the axes, not over them
    assert legend.get_window_extent().x0 >= ax.get_window_extent().x1
    plt.close(fig)
    assert write_plot(report, tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
