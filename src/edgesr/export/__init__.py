"""The export pipeline: :func:`edgesr.export.api.run_export` takes a model and its
:class:`~edgesr.export.options.ExportOptions` to one format and precision, checked against PyTorch,
with its manifest. The formats themselves are in :mod:`edgesr.formats`."""
