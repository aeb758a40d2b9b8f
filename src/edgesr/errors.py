"""The one error hierarchy of edgesr.

Library code raises these; the CLI turns any :class:`EdgesrError` into a one-line message and a
non-zero exit. Each message names the problem and, where there is one, the fix.
"""

from __future__ import annotations


class EdgesrError(Exception):
    """Base class of every error edgesr raises on purpose."""


class MissingDependencyError(EdgesrError, ImportError):
    """An optional package is not installed; the message names the pip command."""


class DataError(EdgesrError):
    """A data root, dataset or folder of images that cannot be used."""


class ImageError(EdgesrError):
    """An image file that cannot be read, or is of a kind edgesr refuses to guess about."""


class ModelError(EdgesrError):
    """An unknown model name, bad model options or weights that do not fit the model."""


class ScaleError(EdgesrError, ValueError):
    """A scale factor the model, image or operation does not support."""


class ConfigError(EdgesrError, ValueError):
    """A training or export configuration with an unknown key or a bad value."""


class ArtifactError(EdgesrError):
    """An exported artifact that is missing, corrupt, or does not match its manifest."""


class ExportError(EdgesrError):
    """An export that cannot be made with the options given, or whose output fails its check."""


class DeviceError(EdgesrError):
    """A device profile that cannot be used, or a device that cannot be reached or fails a run."""


class TrainingError(EdgesrError):
    """A training run that cannot go on: its loss, gradients or weights stopped being finite."""


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (runtimes' errors run to pages)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
