"""The export pipeline: :func:`edgesr.conversion.api.run_export` takes a model and its
:class:`~edgesr.conversion.options.ExportOptions` to one format and precision, checked against PyTorch,
with its manifest. The formats themselves are in :mod:`edgesr.formats`."""
