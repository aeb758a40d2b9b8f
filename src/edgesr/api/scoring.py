"""``evaluate`` (PSNR/SSIM of a model, artifact or runner on a benchmark set) and ``compare`` (two
sources' outputs on the same inputs). Each is prepared first (everything that can be refused is:
names, scales, the set, its images, the weights, the artifact), then run: the CLI prints its
header in between."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from edgesr.api.sources import check_arguments, choose_scale, common_scale, entered, resolve, upscaler
from edgesr.data.datasets import ImageSet, find_images


@dataclass
class Evaluation:
    """A prepared evaluation: ``label`` x ``scale`` on ``images``; ``run()`` scores it."""

    label: str
    scale: int
    images: ImageSet
    runner: Any

    def run(self, progress: Callable | None = None):
        """An :class:`~edgesr.evaluation.evaluate.EvalResult` (``psnr``, ``ssim``, ``images``: one
        row per image); ``progress(score)`` is called after each image."""
        from edgesr.evaluation.evaluate import evaluate as evaluate_set

        with entered(self.runner) as runner:
            return evaluate_set(upscaler(runner), self.images, self.scale, model=self.label, progress=progress)


def prepare_evaluation(model, dataset: str, scale: int | None = None, *, weights: str | os.PathLike | None = None,
                       device: str | None = None, data_root: str | os.PathLike | None = None,
                       kind: str | None = None, **declared) -> Evaluation:
    """Resolve and check everything ``evaluate`` needs, cheap checks first (see ``evaluate``)."""
    from edgesr.data.io import check_images

    check_arguments(scale=scale, device=device, weights=weights)
    source = resolve(model, kind=kind, weights=weights, **declared)
    scale = choose_scale(source, scale)  # before PyTorch is imported: a typo fails at once
    images = find_images(dataset, data_root)
    runner = source.open(scale, device=device)
    check_images(images.files)  # every image refused now, not after scoring the others
    return Evaluation(source.label, scale, images, runner)


def evaluate(model, dataset: str, scale: int | None = None, *, weights: str | os.PathLike | None = None,
             device: str | None = None, data_root: str | os.PathLike | None = None,
             progress: Callable | None = None, **declared):
    """PSNR and SSIM (on Y, shave = scale) of ``model`` on ``dataset`` (Set5, Set14, BSD100, Urban100,
    DIV2K or a folder), each HR image degraded with MATLAB bicubic and upscaled back.

    ``model``: a registry name or reference (with ``weights``, default the shipped ones), an
    ``nn.Module`` (with ``colour=``, ``upsampling=``, ``scales=`` unless it has a ``spec``), an
    artifact path, or an open runner. ``scale`` may be left out when it serves one. Returns an
    :class:`~edgesr.evaluation.evaluate.EvalResult`: ``psnr``, ``ssim`` and ``images`` (one row each)."""
    plan = prepare_evaluation(model, dataset, scale, weights=weights, device=device, data_root=data_root, **declared)
    return plan.run(progress)


@dataclass
class Comparison:
    """Two prepared sides on the same inputs; ``run()`` compares their outputs."""

    labels: tuple[str, str]
    scale: int
    images: ImageSet
    runners: tuple[Any, Any]

    def run(self, progress: Callable | None = None):
        """An :class:`~edgesr.evaluation.compare.OutputComparison`; ``progress(row)`` after each image."""
        from edgesr.evaluation.compare import compare_outputs

        with entered(self.runners[0]) as a, entered(self.runners[1]) as b:
            return compare_outputs(upscaler(a), upscaler(b), self.images, self.scale, labels=self.labels,
                                   progress=progress)


def prepare_comparison(first, second, dataset: str = "Set5", scale: int | None = None, *,
                       weights: str | os.PathLike | None = None,
                       data_root: str | os.PathLike | None = None) -> Comparison:
    """Resolve both sides (artifacts, models, modules or runners) and the scale they share."""
    check_arguments(scale=scale, weights=weights)
    sources = [resolve(side, weights=weights) for side in (first, second)]
    scale = common_scale(sources, scale)
    runners = tuple(source.open(scale) for source in sources)
    images = find_images(dataset, data_root)
    labels = tuple(side if isinstance(side, str) else source.label for side, source in zip((first, second), sources))
    return Comparison(labels, scale, images, runners)


def compare(first, second, dataset: str = "Set5", scale: int | None = None, *,
            weights: str | os.PathLike | None = None, data_root: str | os.PathLike | None = None,
            progress: Callable | None = None):
    """Two sources (two artifacts, or a model and an artifact, ...) on the LR images of ``dataset``:
    per image the largest absolute difference of their outputs (uint8 levels) and the PSNR between
    them. ``scale`` may be left out when they share one; ``weights`` apply to a model side."""
    return prepare_comparison(first, second, dataset, scale, weights=weights, data_root=data_root).run(progress)
