"""The ways ``edgesr bench`` runs PyTorch itself, by name (no torch import: options are checked first).

Precisions: ``fp32``, and ``fp16``/``bf16`` autocast. Modes: ``eager``; ``channels_last`` (weights and
input NHWC); ``compile`` (``torch.compile``, Inductor, channels last); ``cuda_graphs`` (channels last,
captured once per input shape and replayed; CUDA only). :class:`edgesr.runtimes.torch.TorchRunner`
runs them.
"""

TORCH_PRECISIONS = ("fp32", "fp16", "bf16")
TORCH_MODES = ("eager", "channels_last", "compile", "cuda_graphs")
# the modes that need a CUDA GPU
CUDA_ONLY_MODES = ("cuda_graphs",)
