"""Ship trained weights inside the package with their measured scores stored beside them.

``publish_weights`` evaluates a run's weights on every benchmark set and scale with the evaluation
code itself and writes ``pretrained/NAME.safetensors`` plus ``pretrained/NAME.json`` (scores,
training hardware, iterations and time, config). A run warm-started from another run's weights
(``init``) reports the whole chain: iterations, time and hardware summed over the runs, each listed.
``results_table`` renders those files as the markdown table of docs/shipped-weights.md beside the published figures.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from edgesr._files import atomic_path, write_text
from edgesr.data.datasets import BENCHMARKS, find_images
from edgesr.errors import ConfigError
from edgesr.evaluation.evaluate import evaluate
from edgesr.evaluation.published import published
from edgesr.inference import torch_upscaler
from edgesr.manifest import sha256
from edgesr.models.registry import get_spec
from edgesr.models.weights import PRETRAINED_DIR, load_model


def measure_weights(model_name: str, weights: Path, scales: tuple[int, ...], data_root: str | None,
                    sets: tuple[str, ...] = BENCHMARKS, cache: Path | None = None) -> dict[str, dict[str, list[float]]]:
    """``{set: {"x2": [psnr, ssim], ...}}`` for ``weights`` on every set and scale.

    With ``cache`` (a JSON file) each set and scale is recorded as soon as it is scored, under the
    sha256 of the weights, and not scored again: a VDSR on Urban100 takes CPU-hours, and a cut
    session loses at most the set and scale it was on. Activations are channels-last, as in training
    (oneDNN's NHWC convolutions, about 1.3x faster here; equal to NCHW to float error).
    """
    import torch

    digest = sha256(weights)
    done = json.loads(cache.read_text()) if cache is not None and cache.is_file() else {}
    if done.get("weights_sha256") != digest:
        done = {"weights_sha256": digest, "scores": {}}
    scores: dict[str, dict[str, list[float]]] = {}
    for dataset in sets:
        images = find_images(dataset, data_root)
        for scale in scales:
            key = f"x{scale}"
            if key not in done["scores"].get(images.name, {}):
                model = load_model(model_name, scale, weights).to(memory_format=torch.channels_last)
                r = evaluate(torch_upscaler(model), images, scale)
                done["scores"].setdefault(images.name, {})[key] = [round(r.psnr, 4), round(r.ssim, 5)]
                if cache is not None:
                    _write_atomic(cache, json.dumps(done, indent=2) + "\n")
            scores.setdefault(images.name, {})[key] = done["scores"][images.name][key]
    return scores


def _write_atomic(path: Path, text: str) -> None:
    write_text(path, text)


def _stage(run: Path, label: str) -> dict:
    """One training run's own share: iterations, seconds and hardware from its log, or from its
    summary.json where the log is not kept (a finished run in a clone). ``label`` names the run as the
    configs do (a relative path), never as this machine's absolute one."""
    from edgesr.train.summary import SUMMARY, summarize

    summary = summarize(run) if (run / "log.jsonl").is_file() else json.loads((run / SUMMARY).read_text())
    return {"run": label, "iterations": summary["iterations"], "train_seconds": summary["seconds"],
            "hardware": sorted({s.get("hardware") or f"{s.get('world_size', 1)} x {s.get('device', 'cpu')}"
                                for s in summary["sessions"]})}


def _init_run(init: str | None, run: Path) -> Path | None:
    """The training run whose weights ``init`` names (relative to the working folder, else to the
    folder holding the runs' parent), when that run's config and log are still there."""
    if not init:
        return None
    for base in (Path.cwd(), run.resolve().parent.parent):
        parent = (base / init).parent
        if (parent / "config.json").is_file() and any((parent / f).is_file() for f in ("log.jsonl", "summary.json")):
            return parent
    return None


def lineage(run: Path) -> list[dict]:
    """The runs that made ``run``'s weights, the first warm start first: each run whose ``init``
    names another run's weights continues that run's training, so its cost includes theirs."""
    stages, seen = [], set()
    current: Path | None = run
    label = run.as_posix()
    while current is not None and current.resolve() not in seen:
        seen.add(current.resolve())
        stages.insert(0, _stage(current, label))
        init = json.loads((current / "config.json").read_text()).get("init")
        current = _init_run(init, current)
        label = Path(init).parent.as_posix() if init else ""
    return stages


def publish_weights(run_dir: str | os.PathLike, name: str | None = None, data_root: str | None = None,
                    which: str = "best", dest: Path = PRETRAINED_DIR, sets: tuple[str, ...] = BENCHMARKS,
                    int8_formats: tuple[str, ...] | None = None) -> Path:
    """Copy a run's weights into the package with their lineage and scores. For QAT weights,
    ``int8_formats`` names the formats whose ``-p int8`` export uses them by default (those where they
    measured better than the float weights); None: every format."""
    run = Path(run_dir)
    cfg_path, weights = run / "config.json", run / f"{which}.safetensors"
    if not cfg_path.is_file() or not weights.is_file() or not (run / "log.jsonl").is_file():
        raise ConfigError(f"{run} is not a finished training run (needs config.json, log.jsonl and {weights.name})")
    cfg = json.loads(cfg_path.read_text())
    model = cfg["model"]
    spec = get_spec(model)
    scales = tuple(cfg["scales"]) if spec.per_scale or spec.multi_scale else spec.scales
    name = name or (f"{spec.name}_x{scales[0]}" if spec.per_scale else spec.name)
    stages = lineage(run)
    info = {
        "model": model, "scales": list(scales), "weights": f"{name}.safetensors", "source_weights": which,
        "iterations": sum(s["iterations"] for s in stages),
        "train_seconds": round(sum(s["train_seconds"] for s in stages), 1),
        "hardware": sorted({h for s in stages for h in s["hardware"]}),
        "stages": stages,
        "config": cfg,
        "scores": measure_weights(model, weights, scales, data_root, sets, cache=run / "scores.json"),
        **({"int8_formats": list(int8_formats)} if int8_formats is not None else {}),
    }
    dest.mkdir(parents=True, exist_ok=True)
    _copy_with_scores(weights, dest / f"{name}.safetensors", info)
    _write_atomic(dest / f"{name}.json", json.dumps(info, indent=2) + "\n")
    return dest / f"{name}.json"


def _copy_with_scores(src: Path, dst: Path, info: dict) -> None:
    """Copy the weights, adding to their metadata the scores they are published with (every set and
    scale) and the iterations that made them, and their identity (model, options, scales, colour,
    upsampling, multi-scale) as edgesr train writes it, from their config under the name they ship
    as (``info["model"]``: masrn_v1 was trained as masrn, whose residual has changed since): every
    shipped file says what it holds, also those written before edgesr train stored it."""
    from safetensors.torch import load_file, save_file

    from edgesr.models.weights import read_metadata
    from edgesr.train.config import make_config
    from edgesr.train.trainer import build_model, trained_identity

    cfg = make_config({**info["config"], "model": info["model"]})
    published = {"scores": info["scores"], "iterations": info["iterations"]}
    meta = {**read_metadata(src), **trained_identity(build_model(cfg), cfg), "published": json.dumps(published)}
    with atomic_path(dst) as tmp:
        save_file(load_file(src), str(tmp), metadata=meta)


def describe_shipped(name: str, dest: Path = PRETRAINED_DIR) -> Path:
    """Rewrite ``dest/NAME.safetensors`` with the metadata ``publish_weights`` gives today, from
    ``NAME.json`` beside it (the same tensors): for files shipped before their metadata said what
    they hold."""
    info = json.loads((dest / f"{name}.json").read_text())
    path = dest / info["weights"]
    _copy_with_scores(path, path, info)
    return path


def results_table(src: Path = PRETRAINED_DIR) -> str:
    """Markdown: every shipped model, set and scale, beside the published bicubic/FSRCNN/VDSR."""
    infos = [json.loads(p.read_text()) for p in sorted(src.glob("*.json"))]
    head = "| scale | set | bicubic (pub.) | FSRCNN (pub.) | VDSR (pub.) | " + " | ".join(
        Path(i["weights"]).stem for i in infos) + " |"
    lines = [head, "|" + "---|" * (5 + len(infos))]
    for scale in (2, 3, 4):
        for dataset in BENCHMARKS:
            pub = [published(m, dataset, scale) for m in ("bicubic", "fsrcnn", "vdsr")]
            cells = [f"{p[0]:.2f}" if p else "-" for p in pub]
            for i in infos:
                v = i["scores"].get(dataset, {}).get(f"x{scale}")
                cells.append(f"{v[0]:.2f} / {v[1]:.4f}" if v else "-")
            lines.append(f"| x{scale} | {dataset} | " + " | ".join(cells) + " |")
    lines += ["", "| weights | hardware | iterations | training time |", "|---|---|---|---|"]
    for i in infos:
        runs = i.get("stages", [])
        via = f" ({' + '.join(str(s['iterations']) for s in runs)} in {len(runs)} runs)" if len(runs) > 1 else ""
        lines.append(f"| {Path(i['weights']).stem} | {', '.join(i['hardware'])} | {i['iterations']}{via} | "
                     f"{i['train_seconds'] / 3600:.2f} h |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """``python -m edgesr.train.publish RUN_DIR [--name N] [--data-root D] [--sets A,B]``, ``--table``
    or ``--describe NAME``."""
    import argparse

    ap = argparse.ArgumentParser(description="Ship a run's weights with their measured scores.")
    ap.add_argument("run", nargs="?")
    ap.add_argument("--name")
    ap.add_argument("--data-root")
    ap.add_argument("--which", default="best", choices=("best", "last"))
    ap.add_argument("--sets", default=",".join(BENCHMARKS), help="comma-separated benchmark sets to score")
    ap.add_argument("--int8-formats", help="QAT weights: the formats whose int8 export uses them by default "
                                                 "(none: no format, only --quant qat) [default: every format]")
    ap.add_argument("--table", action="store_true", help="print the results table of docs/shipped-weights.md and exit")
    ap.add_argument("--describe", metavar="NAME", help="rewrite the shipped NAME.safetensors with the metadata "
                                                      "publishing gives it today (from NAME.json) and exit")
    args = ap.parse_args()
    if args.describe:
        print(describe_shipped(args.describe))
        return
    if args.table or not args.run:
        print(results_table(), end="")
        return
    formats = (() if args.int8_formats == "none" else tuple(args.int8_formats.split(","))) if args.int8_formats else None
    print(publish_weights(args.run, args.name, args.data_root, args.which, sets=tuple(args.sets.split(",")),
                          int8_formats=formats))


if __name__ == "__main__":
    main()
