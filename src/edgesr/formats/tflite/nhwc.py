"""The networks litert-torch converts: export-only copies whose pixel shuffles become DEPTH_TO_SPACE.

litert-torch writes a pixel shuffle as reshapes and NCHW/NHWC transposes at HR resolution (and
masrn's repeated input as a rank-8 reshape and a BROADCAST_TO), which phone GPU delegates and NPUs
run on the CPU. In the copy (:func:`litert_networks`) each shuffle is an NHWC op that litert-torch
hands to the converter as ``tfl.depth_to_space``; TensorFlow's channel order differs from
PyTorch's when C > 1, so the conv before a shuffle gets its output channels permuted
(:func:`dcr_order`) and the copy computes exactly what the PyTorch model does. A transposed conv
that upscales by its stride (fsrcnn) becomes a conv at LR resolution and a DEPTH_TO_SPACE
(:func:`_subpixel`), and a PReLU one PRELU op (:class:`_PReLU`).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from edgesr.models.scale import network_for_scale

def dcr_order(channels: int, r: int) -> np.ndarray:
    """The PyTorch pixel-shuffle channel that each DEPTH_TO_SPACE input channel must hold: TF's
    order is (i*r + j)*C + c, PyTorch's c*r*r + i*r + j (the same when C = 1)."""
    return np.array([c * r * r + i * r + j for i in range(r) for j in range(r) for c in range(channels)])


_OPS: dict[str, object] = {}  # the custom ops and their lowerings, registered once per process


def _depth_to_space_op():
    """``edgesr::depth_to_space(x, r)``: TensorFlow's depth-to-space of an NHWC tensor."""
    if "d2s" not in _OPS:
        @torch.library.custom_op("edgesr::depth_to_space", mutates_args=())
        def depth_to_space(x: torch.Tensor, r: int) -> torch.Tensor:
            n, h, w, c = x.shape
            return x.reshape(n, h, w, r, r, c // (r * r)).permute(0, 1, 3, 2, 4, 5).reshape(n, h * r, w * r, -1).clone()

        @depth_to_space.register_fake
        def _(x, r):
            n, h, w, c = x.shape
            return x.new_empty(n, h * r, w * r, c // (r * r))

        _OPS["d2s"] = torch.ops.edgesr.depth_to_space.default
    return _OPS["d2s"]


def _prelu_op():
    """``edgesr::prelu(x, alpha)``: PReLU of an NHWC tensor, ``alpha`` [1, 1, C] (TFLite's PRELU)."""
    if "prelu" not in _OPS:
        @torch.library.custom_op("edgesr::prelu", mutates_args=())
        def prelu(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
            return torch.where(x > 0, x, alpha * x)  # as aten._prelu_kernel

        @prelu.register_fake
        def _(x, alpha):
            return torch.empty_like(x)

        _OPS["prelu"] = torch.ops.edgesr.prelu.default
    return _OPS["prelu"]


def lower_custom_ops() -> None:
    """Have litert-torch lower ``edgesr::depth_to_space`` and ``edgesr::prelu`` to the converter's
    ``tfl.depth_to_space`` and ``tfl.prelu`` (a StableHLO custom call naming the TFL op, as
    litert-torch carries its own torch_tfl ops)."""
    if "lowering" in _OPS:
        return
    from litert_converter.mlir import ir
    from litert_converter.mlir.dialects import stablehlo
    from litert_torch.backend.lowerings import registry
    from litert_torch.backend.lowerings import utils as lowering_utils

    def tfl(lctx, name: str, inputs: list, attributes: dict):
        return stablehlo.custom_call(result=lowering_utils.node_meta_to_ir_types(lctx.node), inputs=inputs,
                                     call_target_name=ir.StringAttr.get(name), has_side_effect=ir.BoolAttr.get(False),
                                     backend_config=ir.StringAttr.get(str(ir.DictAttr.get(attributes))))

    @registry.lower(_depth_to_space_op())
    def _(lctx, x, r):
        return tfl(lctx, "tfl.depth_to_space", [x], {"block_size": ir.IntegerAttr.get(ir.IntegerType.get_signless(32), r)})

    @registry.lower(_prelu_op())
    def _(lctx, x, alpha):
        return tfl(lctx, "tfl.prelu", [x, alpha], {})

    _OPS["lowering"] = True


class _DepthToSpace(nn.Module):
    """A pixel shuffle of an NCHW tensor whose channels are already in DEPTH_TO_SPACE's order
    (``gather``: a fixed 1x1 conv that picks them first). The permutes around the NHWC op meet
    the ones litert-torch's layout pass puts around each NCHW op and cancel."""

    def __init__(self, r: int, gather: torch.Tensor | None = None):
        super().__init__()
        self.r, self.gather = r, gather

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if self.gather is not None:
            y = nn.functional.conv2d(y, self.gather.to(y.dtype))
        return _depth_to_space_op()(y.permute(0, 2, 3, 1), self.r).permute(0, 3, 1, 2)


class _PReLU(nn.Module):
    """``prelu`` as one NHWC PRELU (litert-torch writes one as RELU, MUL, MUL and SUB, each rounded
    on its own in INT8); the permutes cancel as :class:`_DepthToSpace`'s do."""

    def __init__(self, prelu: nn.PReLU):
        super().__init__()
        self.weight = prelu.weight

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        alpha = self.weight.reshape(1, 1, -1)
        return _prelu_op()(y.permute(0, 2, 3, 1), alpha).permute(0, 3, 1, 2)


def _picker(index: np.ndarray, inputs: int) -> torch.Tensor:
    """1x1 conv weights whose output channel k is input channel ``index[k]`` (exact in every precision)."""
    weight = torch.zeros(len(index), inputs, 1, 1)
    weight[torch.arange(len(index)), torch.as_tensor(index), 0, 0] = 1.0
    return weight


def _dcr_conv(conv: nn.Conv2d, r: int) -> nn.Conv2d:
    """A copy of ``conv`` whose output channels are in DEPTH_TO_SPACE's order."""
    order = torch.as_tensor(dcr_order(conv.out_channels // (r * r), r))
    out = copy.deepcopy(conv)
    with torch.no_grad():
        out.weight.copy_(conv.weight[order])
        if conv.bias is not None:
            out.bias.copy_(conv.bias[order])
    return out


def _swap_upsamplers(net: nn.Module) -> None:
    """In place: a Conv2d followed by a PixelShuffle in a Sequential becomes the conv with permuted
    outputs and a DEPTH_TO_SPACE; any other PixelShuffle module a DEPTH_TO_SPACE (Y-only: C = 1,
    nothing to permute); a ConvTranspose2d that upscales exactly by its stride a conv at LR
    resolution and a DEPTH_TO_SPACE (:func:`_subpixel`)."""
    for seq in [m for m in net.modules() if isinstance(m, nn.Sequential)]:
        for k in range(len(seq) - 1):
            if isinstance(seq[k], nn.Conv2d) and isinstance(seq[k + 1], nn.PixelShuffle):
                r = seq[k + 1].upscale_factor
                seq[k], seq[k + 1] = _dcr_conv(seq[k], r), _DepthToSpace(r)
    for parent in list(net.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.PixelShuffle):
                setattr(parent, name, _ChannelSafeShuffle(child.upscale_factor))
            elif isinstance(child, nn.ConvTranspose2d) and _subpixel(child) is not None:
                setattr(parent, name, _subpixel(child))


def _subpixel(deconv: nn.ConvTranspose2d) -> nn.Module | None:
    """The same transposed convolution as a conv on the LR grid to s*s*C channels (one per output
    phase (a, b), in DEPTH_TO_SPACE order) and a DEPTH_TO_SPACE, or None when it is not a plain
    x``s`` upscale (output s*H: kernel + output_padding - 2*padding == stride, square, no groups or
    dilation). Output pixel y = s*Y + a takes tap ky of input row Y - d where ky = s*d + a + p, so a
    tap is a conv offset; litert-torch cannot legalize fsrcnn's TRANSPOSE_CONV (its output padding)."""
    s, k, p, op = deconv.stride[0], deconv.kernel_size[0], deconv.padding[0], deconv.output_padding[0]
    if (deconv.stride[1], deconv.kernel_size[1], deconv.padding[1], deconv.output_padding[1]) != (s, k, p, op) \
            or deconv.groups != 1 or deconv.dilation != (1, 1) or k + op - 2 * p != s:
        return None
    c_in, c_out = deconv.in_channels, deconv.out_channels
    taps = {(ky, a): (ky - a - p) // s for ky in range(k) for a in range(s) if (ky - a - p) % s == 0}
    reach = max(abs(d) for d in taps.values())
    conv = nn.Conv2d(c_in, s * s * c_out, 2 * reach + 1, padding=reach)
    w = deconv.weight.detach()  # [c_in, c_out, k, k]
    weight = torch.zeros_like(conv.weight)  # [(a*s + b)*c_out + o, c_in, kh, kw]
    for (ky, a), dy in taps.items():
        for (kx, b), dx in taps.items():
            rows = (a * s + b) * c_out + torch.arange(c_out)
            weight[rows, :, reach - dy, reach - dx] = w[:, :, ky, kx].T
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.copy_((deconv.bias.detach() if deconv.bias is not None else torch.zeros(c_out)).repeat(s * s))
    return nn.Sequential(conv, _DepthToSpace(s))


class _ChannelSafeShuffle(nn.Module):
    """A lone pixel shuffle: a fixed 1x1 conv reorders the channels first when C > 1."""

    def __init__(self, r: int):
        super().__init__()
        self.r = r

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        c = y.shape[1] // (self.r * self.r)
        gather = None if c == 1 else _picker(dcr_order(c, self.r), y.shape[1])
        return _DepthToSpace(self.r, gather)(y)


class _MasrnForLiteRT(nn.Module):
    """masrn at one scale, as :class:`edgesr.models.masrn.MASRN` computes it: trunk, the Upscale
    head (swapped by :func:`_swap_upsamplers`), and the image-space residual (nearest upsampling, or
    masrn_v1's mosaic) as a fixed 1x1 conv that picks each DEPTH_TO_SPACE channel from the input
    (no repeat or resize: litert-torch writes a repeat as a rank-8 reshape and a BROADCAST_TO)."""

    def __init__(self, model: nn.Module, scale: int):
        super().__init__()
        if f"x{scale}" not in model.upscale:
            model.branch(None, None, scale)  # raises masrn's own ScaleError
        self.model, self.scale = model, scale
        c = model.spec.channels
        self.base = _DepthToSpace(scale, _picker(residual_order(c, scale, model.residual), c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = self.model.upscale[f"x{self.scale}"](self.model.trunk(x))
        return self.model.tail(up, self.base(x))


def residual_order(channels: int, r: int, residual: str = "nearest") -> np.ndarray:
    """The input channel behind each DEPTH_TO_SPACE channel of masrn's image residual: nearest
    upsampling (channel (i*r + j)*C + c is input channel c), or the mosaic
    ``pixel_shuffle(x.repeat(1, r*r, 1, 1), r)``."""
    if residual == "mosaic":
        return dcr_order(channels, r) % channels
    return np.arange(channels * r * r) % channels


def litert_networks(model: nn.Module, scales: tuple[int, ...], *, prelu: bool = True) -> dict[int, nn.Module]:
    """The networks to convert, one per scale, sharing one export-only copy of the weights (so a
    shared-trunk artifact still stores them once); the PyTorch model is left as it is. ``prelu``:
    each PReLU as one PRELU op (LiteRT has no int16 PRELU: W8A16 keeps litert-torch's RELU form)."""
    from edgesr.models.masrn import MASRN

    net = copy.deepcopy(model).eval()
    _swap_upsamplers(net)
    for parent in list(net.modules()) if prelu else []:
        for name, child in parent.named_children():
            if isinstance(child, nn.PReLU):
                setattr(parent, name, _PReLU(child))
    if isinstance(net, MASRN):
        return {s: _MasrnForLiteRT(net, s).eval() for s in scales}
    return {s: network_for_scale(net, s) for s in scales}


def dcr_points(points: list, model: nn.Module) -> list:
    """``points`` and, for each one that a conv before a pixel shuffle computes, its value in
    DEPTH_TO_SPACE channel order (the swapped conv's), so INT8 ranges reach that conv too."""
    shuffled = {(seq[k].out_channels, seq[k + 1].upscale_factor) for seq in model.modules()
                if isinstance(seq, nn.Sequential) for k in range(len(seq) - 1)
                if isinstance(seq[k], nn.Conv2d) and isinstance(seq[k + 1], nn.PixelShuffle)}
    extra = [(value[:, dcr_order(n // (r * r), r)], lo, hi, bits) for value, lo, hi, bits in points
             for n, r in shuffled if value.ndim == 4 and value.shape[1] == n and n > r * r]
    return points + extra

