"""The Python API, also reached from the top of the package (``edgesr.export``, ...): each call
takes a model as a registry name, a ``package.module:factory`` / ``path/to/file.py:factory``
reference or an ``nn.Module`` (and, where it runs one, an exported artifact or an open runner).
The CLI's commands are thin calls of these. Importing this package does not import PyTorch."""

from edgesr.api.benching import bench
from edgesr.api.exporting import export
from edgesr.api.running import open_runner, upscale
from edgesr.api.scoring import compare, evaluate
from edgesr.api.sources import ScaleNotGiven, declare

__all__ = ["ScaleNotGiven", "bench", "compare", "declare", "evaluate", "export", "open_runner", "upscale"]
