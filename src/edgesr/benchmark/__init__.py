"""edgesr bench: every format on a device against the PyTorch baseline."""
