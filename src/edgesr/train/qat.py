"""Quantization-aware training (QAT): the forward pass rounds weights and activations as the INT8
exporters will, so fine-tuning teaches the weights to live with that rounding.

This module defines edgesr's INT8 scheme, the one every format's INT8 artifact computes (ONNX
Runtime, LiteRT, OpenVINO, ExecuTorch, Core ML W8A8; TensorRT with the activations made symmetric).
What is simulated, and why it is what the artifacts compute:

* Weights: symmetric per output channel, ``WEIGHT_LEVELS`` (63) steps of ``max|w| / 63`` each side
  of 0, recomputed from the weights at every step. The exporters write exactly these integers
  (``quantize_weight``): 7-bit values in int8, the grid no x86 int8 kernel can overflow (see
  ``WEIGHT_LEVELS``), so one artifact computes the same integers on every CPU.
* Activations: every one 8-bit, uint8 asymmetric per tensor over ``[min(lo, 0), max(hi, 0)]``, one
  range per tensor that an op writes (convolutions, additions, concatenations; a convolution whose
  only reader is a ReLU is rounded once, after the ReLU, as the runtimes fuse the two; pixel
  shuffles, nearest upsampling, repeats and reshapes keep their input's grid). The image input and
  output are pinned to [0, 1]. A concatenation and the tensors it reads share one range (their
  union): runtimes requantize a concatenation's inputs onto one grid, and on that grid from the
  start, the requantization changes nothing anywhere.
* Mixed widths, for models that declare ``spec.int16_modules`` (no shipped model does): the tensors
  computed inside them are rounded to 16 bits, as such a model's INT8 artifacts keep them
  (``pure_int8`` rounds everything to 8 bits, for accelerators without 16-bit activations).
* Ranges: per tensor, the ``clip`` and ``1 - clip`` quantiles of its values over the exporter's own
  calibration images (same set, count and seed as ``edgesr export``), measured on the
  float network with the current weights and refreshed every ``range_every`` iterations. Min/max
  ranges (``clip: 0``) spend most of the 256 levels on a few outliers: clipping 1e-4 of the values
  at each end gained 0.05-0.1 dB on Set5 for the shipped masrn before any training. The exporters
  compute the ranges with this same code (``edgesr.formats.ranges``) and write them into the ONNX QDQ
  and LiteRT artifacts, so an artifact carries the ranges its weights were trained with.

The saved weights are plain float weights of the same model (same keys): load and export them like
any other; ``edgesr export -p int8`` picks shipped QAT weights by default.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import fx, nn

from edgesr.errors import ConfigError

DEFAULT_CLIP = 1e-4  # fraction of each activation's values clipped at each end of its range
# the INT8 weight grid of every format: symmetric per output channel, 63 steps of max|w| / 63 each
# side of 0 (7-bit values in int8). x86 CPUs without VNNI multiply uint8 activations by int8 weights
# with instructions that add pairs of products in saturating 16 bits: 2 * 255 * 127 overflows them
# and 2 * 255 * 63 cannot, so on this grid ONNX Runtime and OpenVINO compute the same integers on
# an AVX2 CPU as on a VNNI or Arm one (with 8-bit weights, masrn x4 came out 2.1 grey levels from
# its own QDQ graph on an AMD EPYC in ONNX Runtime, 2.7 in OpenVINO; 0.05 on this grid)
WEIGHT_LEVELS = 63
SAMPLES_PER_CALL = 20_000  # values each calibration input contributes to a tensor's quantiles

RELU = {torch.relu, nn.functional.relu, "relu"}
# ops that move values without computing new ones: the runtimes keep the input's quantization grid
REARRANGE = {nn.functional.pixel_shuffle, torch.pixel_shuffle, nn.functional.interpolate, "repeat", "reshape", "view", "permute",
             "contiguous", torch.reshape, torch.permute, torch.flatten, operator.getitem}
REARRANGE_MODULES = (nn.PixelShuffle, nn.Identity)


@dataclass(frozen=True)
class QATOptions:
    """The ``qat:`` section of a training config."""

    weight_levels: int = WEIGHT_LEVELS  # steps each side of 0 per channel (127: a full 8-bit grid)
    activation_bits: int = 8  # 8: int8 PTQ's grid; 16 to simulate W8A16
    calib_set: str = "T91"
    calib_images: int = 64  # whole LR images per scale, as edgesr export's --calib-images
    range_every: int = 100  # iterations between re-measuring the activation ranges
    clip: float = DEFAULT_CLIP  # 0: min/max ranges
    pure_int8: bool = False  # True: no 16-bit activations, even in the model's int16_modules

    def __post_init__(self) -> None:
        if not 1 <= self.weight_levels <= 127:
            raise ConfigError(f"qat.weight_levels must be 1-127 ({WEIGHT_LEVELS}: the INT8 exporters' grid), "
                              f"got {self.weight_levels}")
        if self.activation_bits not in (8, 16):
            raise ConfigError(f"qat.activation_bits must be 8 or 16, got {self.activation_bits}")
        if self.calib_images < 1 or self.range_every < 1:
            raise ConfigError("qat.calib_images and qat.range_every must be >= 1")
        if not 0 <= self.clip < 0.01:
            raise ConfigError(f"qat.clip must be in [0, 0.01), got {self.clip}")


def qat_options(values: dict[str, Any] | None) -> QATOptions | None:
    if values is None:
        return None
    known = {f.name: f.type for f in dataclasses.fields(QATOptions)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown qat option(s): {', '.join(unknown)}; known: {', '.join(known)}")
    values = dict(values)
    for key, value in values.items():
        want = {"int": int, "float": float, "str": str, "bool": bool}[str(known[key]).replace("<class '", "").rstrip("'>")]
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            values[key] = value = float(value)
        if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
            raise ConfigError(f"qat.{key} must be {want.__name__}, got {value!r}")
    return QATOptions(**values)


class ActivationQuant(nn.Module):
    """Fake quantization of one activation tensor over a range measured by ``observe`` (or pinned)."""

    def __init__(self, bits: int = 8, pinned: tuple[float, float] | None = None):
        super().__init__()
        self.bits = bits
        self.qmax = 2 ** bits - 1
        self.pinned = pinned
        lo, hi = pinned or (float("inf"), float("-inf"))
        self.register_buffer("lo", torch.tensor(lo))
        self.register_buffer("hi", torch.tensor(hi))
        self.observing = False  # pass values through, recording their range
        self.passthrough = False  # pass values through, recording nothing
        self._samples: list[torch.Tensor] = []
        self._generator: torch.Generator | None = None

    def reset(self, seed: int = 0) -> None:
        if self.pinned is None:
            self.lo.fill_(float("inf"))
            self.hi.fill_(float("-inf"))
        self._samples = []
        self._generator = torch.Generator().manual_seed(seed)

    def finish(self, clip: float) -> None:
        """Set the range from what was observed: min/max, or the ``clip`` quantiles."""
        if self.pinned is None and clip > 0 and self._samples:
            values = torch.cat(self._samples)
            q = torch.quantile(values, torch.tensor([clip, 1 - clip], dtype=values.dtype))
            self.lo.copy_(q[0])
            self.hi.copy_(q[1])
        self._samples = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_meta or self.passthrough:  # shape-only passes (memory profiling), value probes
            return x
        if self.observing:
            if self.pinned is None:
                with torch.no_grad():
                    self.lo.copy_(torch.minimum(self.lo, x.min()))
                    self.hi.copy_(torch.maximum(self.hi, x.max()))
                    flat = x.detach().reshape(-1).float().cpu()
                    if flat.numel() > SAMPLES_PER_CALL:
                        flat = flat[torch.randint(0, flat.numel(), (SAMPLES_PER_CALL,), generator=self._generator)]
                    self._samples.append(flat)
            return x
        lo, hi = self.lo.clamp(max=0.0), self.hi.clamp(min=0.0)
        scale = ((hi - lo) / self.qmax).clamp(min=1e-8).float()
        zero = torch.round(-lo / scale).clamp(0, self.qmax).to(torch.int32)
        return torch.fake_quantize_per_tensor_affine(x, scale.reshape(1), zero.reshape(1), 0, self.qmax)


def fake_quant_weight(w: torch.Tensor, levels: int = WEIGHT_LEVELS) -> torch.Tensor:
    """Symmetric per-output-channel rounding to ``[-levels, levels]`` steps of ``max|w| / levels``."""
    scale = (w.detach().abs().amax(dim=tuple(range(1, w.dim()))) / levels).clamp(min=1e-12).float()
    zero = torch.zeros_like(scale, dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -levels, levels)


def quantize_weight(w: np.ndarray, levels: int = WEIGHT_LEVELS) -> tuple[np.ndarray, np.ndarray]:
    """The integers and per-output-channel scales of :func:`fake_quant_weight` (the same float32
    arithmetic: ``rint(w * (1 / scale))``), for exporters that write the weights themselves."""
    w = np.asarray(w, dtype=np.float32)
    scale = np.maximum(np.abs(w).reshape(len(w), -1).max(axis=1) / np.float32(levels), np.float32(1e-12)).astype(np.float32)
    inverse = (np.float32(1) / scale).reshape((-1,) + (1,) * (w.ndim - 1))
    q = np.clip(np.rint(w * inverse), -levels, levels).astype(np.int8)
    return q, scale


class QuantConv2d(nn.Module):
    """A conv of the float model, run with its weight fake-quantized (the parameters stay the conv's)."""

    def __init__(self, conv: nn.Conv2d, levels: int):
        super().__init__()
        self.conv, self.levels = conv, levels
        self.observing = False  # ranges are measured on the float network, as the exporters measure them

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.conv
        if self.observing or x.is_meta:
            return c(x)
        return c._conv_forward(x, fake_quant_weight(c.weight, self.levels), c.bias)


def _is_relu(gm: fx.GraphModule, node: fx.Node) -> bool:
    if node.op == "call_module":
        return isinstance(gm.get_submodule(node.target), nn.ReLU)
    return node.op in ("call_function", "call_method") and node.target in RELU


def _rearranges(gm: fx.GraphModule, node: fx.Node) -> bool:
    if node.op == "call_module":
        return isinstance(gm.get_submodule(node.target), REARRANGE_MODULES)
    return node.target in REARRANGE


def held_ids(modules) -> set[int]:
    """The ids of ``modules`` and of every module inside them (what :func:`inside` looks for)."""
    return {id(sub) for m in modules for sub in m.modules()}


def inside(net: nn.Module, node: fx.Node, held: set[int]) -> bool:
    """Whether ``node`` was traced inside a module whose id is in ``held``."""
    for path, _ in (node.meta.get("nn_module_stack") or {}).values():
        try:
            if id(net.get_submodule(path)) in held:
                return True
        except AttributeError:
            continue
    return False


def wide_modules(model: nn.Module, options: QATOptions) -> list[nn.Module]:
    """The submodules of ``model`` whose activations the scheme rounds to 16 bits."""
    if options.pure_int8 or options.activation_bits == 16:
        return []
    return [model.get_submodule(name) for name in model.spec.int16_modules]


def instrument(net: nn.Module, options: QATOptions, wide: list[nn.Module] = ()) -> fx.GraphModule:
    """``net`` (``forward(x)``) traced, with its convs' weights and its activations fake-quantized
    (to 16 bits for activations computed inside a module of ``wide``). The traced module holds
    ``net``'s own parameters, not copies."""
    gm = fx.symbolic_trace(net)
    graph = gm.graph
    count = 0
    held = held_ids(wide)

    def add_quant(after: fx.Node, pinned=None) -> fx.Node:
        nonlocal count
        name = f"act_quant_{count}"
        count += 1
        bits = 16 if pinned is None and held and inside(net, after, held) else options.activation_bits
        gm.add_submodule(name, ActivationQuant(bits, pinned))
        with graph.inserting_after(after):
            q = graph.call_module(name, (after,))
        after.replace_all_uses_with(q, delete_user_cb=lambda user: user is not q)
        return q

    for node in list(graph.nodes):
        if node.op == "call_module" and isinstance(gm.get_submodule(node.target), nn.Conv2d):
            name = f"qconv_{count}"
            count += 1
            gm.add_submodule(name, QuantConv2d(gm.get_submodule(node.target), options.weight_levels))
            node.target = name
    image = (0.0, 1.0)  # the image input and output: pinned, and rounded once
    (result,) = next(n for n in graph.nodes if n.op == "output").args
    while result.op != "placeholder" and _rearranges(gm, result):  # the op that computes the output's values
        result = result.args[0]
    for node in list(graph.nodes):
        if node.op == "placeholder":
            add_quant(node, pinned=image)
        elif node.op in ("call_module", "call_function", "call_method"):
            if _rearranges(gm, node):
                continue
            users = list(node.users)
            if len(users) == 1 and _is_relu(gm, users[0]):
                continue  # rounded once, after the ReLU
            add_quant(node, pinned=image if node is result else None)
    gm.tied = _concat_groups(gm)
    graph.lint()
    gm.recompile()
    return gm


def _rounding_point(gm: fx.GraphModule, node: fx.Node) -> str | None:
    """The name of the ActivationQuant whose grid ``node``'s values are on (through rearranging ops)."""
    while node.op != "call_module" or not isinstance(gm.get_submodule(node.target), ActivationQuant):
        if not _rearranges(gm, node) or not node.args:
            return None
        node = node.args[0]
    return node.target


def _concat_groups(gm: fx.GraphModule) -> list[list[str]]:
    """Rounding points that share one range: a concatenation's inputs and its output. Runtimes
    give a concatenation one grid (LiteRT's quantizer and OpenVINO requantize each input onto the
    output's), so the scheme puts every tensor a concatenation reads on that grid from the start:
    the requantization is then the identity in every runtime, and the other readers of such a
    tensor (a block's output also feeds the next block) see the same values everywhere."""
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            a = parent[a]
        return a

    for node in gm.graph.nodes:
        if node.op == "call_function" and node.target in (torch.cat, torch.concat):
            names = [_rounding_point(gm, arg) for arg in node.args[0]]
            names += [_rounding_point(gm, user) for user in node.users]
            names = [n for n in names if n is not None]
            for a in names[1:]:
                parent[find(a)] = find(names[0])
    groups: dict[str, list[str]] = {}
    for name in parent:
        groups.setdefault(find(name), []).append(name)
    return [sorted(g) for g in groups.values() if len(g) > 1]


class QuantSim(nn.Module):
    """``model`` as the INT8 artifacts compute it, one traced graph per scale over the same parameters;
    called like the model (``sim(x, scale)`` for multi-scale models, ``sim(x)`` otherwise)."""

    def __init__(self, model: nn.Module, scales: tuple[int, ...], options: QATOptions, data_root: str | None = None):
        super().__init__()
        from edgesr.models.scale import ScaleBound

        self.spec = model.spec
        self.options, self.data_root = options, data_root
        self.scales = tuple(scales)
        nets = {s: ScaleBound(model, s) if model.spec.multi_scale else model for s in self.scales}
        wide = wide_modules(model, options)
        self.graphs = nn.ModuleDict({f"x{s}": instrument(net, options, wide) for s, net in nets.items()})
        self._model = [model]  # not a submodule: the sim's state is the model's
        self.calibrated = False
        self._inputs: dict[int, list[torch.Tensor]] = {}

    def forward(self, x: torch.Tensor, scale: int | None = None) -> torch.Tensor:
        return self.graphs[f"x{scale if scale is not None else self.scales[0]}"](x)

    def _quants(self, scale: int) -> list[ActivationQuant]:
        return [m for m in self.graphs[f"x{scale}"].modules() if isinstance(m, ActivationQuant)]

    def _observers(self, scale: int) -> list[nn.Module]:
        return [m for m in self.graphs[f"x{scale}"].modules() if isinstance(m, (ActivationQuant, QuantConv2d))]

    def calibration(self, scale: int) -> list[torch.Tensor]:
        """The calibration images of ``scale``: the exporter's own (same set, count and seed)."""
        if scale not in self._inputs:
            from edgesr.data.calibration import calibration_images

            o = self.options
            arrays = calibration_images(self._model[0], scale, o.calib_set, o.calib_images, self.data_root)
            self._inputs[scale] = [torch.from_numpy(a) for a in arrays]
        return self._inputs[scale]

    def set_calibration(self, scale: int, inputs) -> None:
        """Calibrate ``scale`` on these inputs (arrays or tensors) instead of the default crops."""
        self._inputs[scale] = [torch.as_tensor(x) for x in inputs]

    @torch.no_grad()
    def calibrate(self) -> None:
        """Re-measure every activation range on the calibration crops with the current weights."""
        model = self._model[0]
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        for s in self.scales:
            quants = self._observers(s)
            for i, q in enumerate(quants):
                if isinstance(q, ActivationQuant):
                    q.reset(seed=i)
                q.observing = True
            try:
                for x in self.calibration(s):
                    self.graphs[f"x{s}"](x.to(device))
            finally:
                for q in quants:
                    q.observing = False
                    if isinstance(q, ActivationQuant):
                        q.finish(self.options.clip)
            self._tie(s)
        model.train(was_training)
        self.calibrated = True

    def _tie(self, scale: int) -> None:
        """Give each group of ``tied`` rounding points the union of their ranges."""
        graph = self.graphs[f"x{scale}"]
        for group in graph.tied:
            quants = [graph.get_submodule(name) for name in group]
            if any(q.pinned is not None for q in quants):
                continue  # the image's own grid: nothing is tied to it
            lo = min(float(q.lo) for q in quants)
            hi = max(float(q.hi) for q in quants)
            for q in quants:
                q.lo.fill_(lo)
                q.hi.fill_(hi)

    @torch.no_grad()
    def probe(self, scale: int, x: torch.Tensor) -> list[tuple[np.ndarray, float, float, int]]:
        """Run ``x`` through the float network; for every rounding point, the value that reaches it
        (NCHW), its range and its bits. Exporters find the same tensors in their graphs by these values."""
        graph = self.graphs[f"x{scale}"]
        quants = self._quants(scale)
        seen: list[tuple[np.ndarray, float, float, int]] = []
        hooks = [q.register_forward_hook(lambda m, inp, out: seen.append(
            (inp[0].detach().float().cpu().numpy(), float(m.lo), float(m.hi), m.bits))) for q in quants]
        convs = [m for m in graph.modules() if isinstance(m, QuantConv2d)]
        for m in quants:
            m.passthrough = True
        for m in convs:
            m.observing = True
        try:
            graph(x)
        finally:
            for h in hooks:
                h.remove()
            for m in quants:
                m.passthrough = False
            for m in convs:
                m.observing = False
        return seen
