"""The training loop: single-scale, multi-scale (scales take turns, one scale per batch), resumable,
and unchanged under ``torchrun`` (DistributedDataParallel; gloo on CPU, NCCL and bf16 autocast on CUDA)."""

from __future__ import annotations

import contextlib
import dataclasses
import copy
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgesr._files import write_text
from edgesr._values import finite
from edgesr.data.datasets import find_images
from edgesr.errors import ConfigError, TrainingError
from edgesr.evaluation.evaluate import evaluate
from edgesr.inference import torch_upscaler
from edgesr.models.registry import create_model, get_spec
from edgesr.models.weights import identity_metadata, load_model, save_weights
from edgesr.train.checkpoint import load_checkpoint, save_checkpoint
from edgesr.train.config import TrainConfig, config_defaults
from edgesr.train.patches import PatchSampler
from edgesr.train.qat import QuantSim, qat_options

CHECKPOINT = "last.ckpt.safetensors"


@dataclass(frozen=True)
class TrainResult:
    iterations: int
    best_psnr: float | None
    out_dir: Path
    seconds: float


def json_line(row: dict) -> str:
    """One line of strict JSON (non-finite numbers as null)."""
    return json.dumps(finite(row), allow_nan=False)


def _largest_magnitude(tensors: list[torch.Tensor]) -> torch.Tensor:
    """max |x| over ``tensors`` as a 0-d float tensor, NaN if any holds a NaN (stays on the device)."""
    if not tensors:
        return torch.zeros(())
    with torch.no_grad():
        return torch.stack(torch._foreach_norm(tensors, float("inf"))).amax().float()


def lr_at(cfg: TrainConfig, it: int) -> float:
    """Learning rate at iteration ``it`` (a pure function, so resuming needs no scheduler state)."""
    if cfg.warmup and it < cfg.warmup:
        return cfg.lr * (it + 1) / cfg.warmup
    if cfg.schedule == "step":
        return cfg.lr * cfg.gamma ** (it // cfg.step_size)
    if cfg.schedule == "cosine":
        t = (it - cfg.warmup) / max(1, cfg.iterations - cfg.warmup)
        return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, t)))
    return cfg.lr


class _Progress:
    """One status line: rewritten in place on a terminal, printed every ``every`` iterations elsewhere."""

    def __init__(self, total: int, every: int, enabled: bool):
        self.total, self.every, self.enabled = total, every, enabled
        self.tty = sys.stderr.isatty()

    def update(self, it: int, loss: float, psnr: float | None, rate: float, patches: int) -> None:
        """``rate`` in iterations/s; ``patches`` per iteration (all ranks)."""
        if not self.enabled or (not self.tty and it % self.every):
            return
        eta = (self.total - it) / rate if rate > 0 else 0.0
        h, rem = divmod(int(eta), 3600)
        psnr_text = f"{psnr:.2f}" if psnr is not None else "-"
        line = (f"it {it}/{self.total} loss {loss:.4f} PSNR {psnr_text} "
                f"{rate * patches:.1f} patches/s ETA {h}:{rem // 60:02d}:{rem % 60:02d}")
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)


# what a resumed run may change: its length (an extended or shortened run), how it uses the hardware,
# how often it logs and checkpoints, and where its folder is (a run folder moved elsewhere resumes
# there); nothing that changes what it computes or which weights it keeps as best
RESUME_MAY_CHANGE = ("iterations", "threads", "channels_last", "precision", "data_cache", "log_every",
                     "checkpoint_every", "bicubic_floor_after", "out_dir")


def hardware(device: torch.device, world: int = 1) -> str:
    """What trains: GPU name(s), or the CPU and the threads torch uses."""
    if device.type == "cuda":
        return f"{world} x {torch.cuda.get_device_name(device)}"
    return f"{world} x CPU {platform.machine()} ({torch.get_num_threads()} threads)"


def _cpu_name() -> str:
    """The CPU model and the flags that choose its kernels (the numbers of a run depend on both)."""
    from edgesr.runtimes.measure import cpu_info

    info = cpu_info()
    flags = [f for f in info["int_flags"] if f in ("avx2", "avx512f", "avx512_vnni", "amx_int8")]
    return f"{info['model']} ({', '.join(flags)})" if flags else info["model"]


def autocast_dtype(cfg: TrainConfig, device: torch.device) -> torch.dtype | None:
    """The dtype the passes compute in under autocast, or None for plain float32 (``precision``)."""
    if cfg.precision == "float32" or (cfg.precision == "auto" and cfg.qat is not None):
        return None
    if cfg.precision == "bfloat16" or device.type == "cuda":
        return torch.bfloat16
    return torch.bfloat16 if torch.cpu._is_amx_tile_supported() else None  # auto on a CPU


def _dist_info() -> tuple[int, int]:
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def _device(cfg: TrainConfig) -> torch.device:
    if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ConfigError("device: cuda asked for, but torch sees no CUDA GPU; use device: cpu (or auto)")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def trained_identity(model: nn.Module, cfg: TrainConfig) -> dict[str, str]:
    """What a weights file trained with ``cfg`` says it holds (``identity_metadata``), with the
    scales trained: ``load_model(weights=FILE)`` rebuilds the network from it alone."""
    return {**identity_metadata(model), "scales": json.dumps(list(cfg.scales))}


def build_model(cfg: TrainConfig) -> nn.Module:
    spec = get_spec(cfg.model)
    if spec.per_scale and len(cfg.scales) != 1:
        raise ConfigError(f"{cfg.model} is built for one scale; give exactly one in scales")
    if spec.multi_scale:
        return create_model(cfg.model, scales=cfg.scales, **cfg.model_options)
    return create_model(cfg.model, scale=cfg.scales[0] if spec.per_scale else None, **cfg.model_options)


def zero_init(model: nn.Module, names: tuple[str, ...]) -> None:
    """Set the parameters of the submodules ``names`` to zero (``zero_init``)."""
    modules = dict(model.named_modules())
    for name in names:
        if name not in modules or not any(True for _ in modules[name].parameters()):
            have = ", ".join(n for n, m in modules.items() if n and any(True for _ in m.parameters(recurse=False)))
            raise ConfigError(f"zero_init: {type(model).__name__} has no submodule {name!r} with parameters; "
                              f"it has {have[:300]}")
        with torch.no_grad():
            for p in modules[name].parameters():
                p.zero_()


def warm_start(model: nn.Module, path: str) -> dict[str, int]:
    """Load the tensors of ``path`` that match ``model``'s in name and shape; the others keep their
    fresh initialisation. Returns how many were loaded and skipped."""
    from safetensors.torch import load_file

    if not Path(path).is_file():
        raise ConfigError(f"init: {path} does not exist; give a .safetensors file of weights or remove init")
    try:
        tensors = load_file(path)
    except Exception as exc:  # safetensors raises its own error types, which vary by version
        raise ConfigError(f"init: {path} is not a readable .safetensors file ({exc})") from exc
    bad = sorted(k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all())
    if bad:
        raise ConfigError(f"init: {path} holds non-finite values (in {', '.join(bad[:3])}); give finite weights")
    own = model.state_dict()
    given = len(tensors)
    grow = getattr(model, "grown_state", None)  # a deeper network warm-started from a shallower one's weights
    if grow is not None:
        tensors = grow(tensors)
    match = {k: v for k, v in tensors.items() if k in own and own[k].shape == v.shape}
    if not match:
        raise ConfigError(f"init: no tensor of {path} matches {type(model).__name__} in name and shape")
    model.load_state_dict(match, strict=False)
    grown = len(tensors) - given
    return {"loaded": len(match), "skipped": max(0, given - (len(match) - grown)), "fresh": len(own) - len(match),
            **({"grown": grown} if grown else {})}


class Trainer:
    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.rank, self.world = _dist_info()
        self.device = _device(cfg)
        if self.world > 1 and not torch.distributed.is_initialized():
            torch.distributed.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)  # same initial weights on every rank
        self.model = build_model(cfg)
        zero_init(self.model, cfg.zero_init)
        self.warm_start = warm_start(self.model, cfg.init) if cfg.init else None
        self.memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        self.compute_dtype = autocast_dtype(cfg, self.device)
        self.model = self.model.to(self.device, memory_format=self.memory_format)
        self.spec = self.model.spec
        for s in cfg.scales:
            if s not in self.spec.scales:
                raise ConfigError(f"{cfg.model} does not support x{s}")
        self.ema = copy.deepcopy(self.model).requires_grad_(False) if cfg.ema else None
        self.net: nn.Module = self.model
        self.qat = qat_options(cfg.qat)
        self.sim: QuantSim | None = None  # the network trained: the model with INT8 rounding simulated
        self.val_sim: QuantSim | None = None  # the same around the averaged (validated) weights
        if self.qat is not None:
            self.sim = self.net = QuantSim(self.model, cfg.scales, self.qat, cfg.data_root)
            self.val_sim = self.sim if self.ema is None else QuantSim(self.ema, cfg.scales, self.qat, cfg.data_root)
        if self.world > 1:
            self.net = nn.parallel.DistributedDataParallel(self.net, find_unused_parameters=self.spec.multi_scale)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.params = list(self.model.parameters())
        self.ema_params = list(self.ema.parameters()) if self.ema is not None else []
        self.rng = np.random.default_rng([cfg.seed, self.rank])
        self.out = Path(cfg.out_dir)
        self.iteration, self.best, self.elapsed = 0, None, 0.0
        self.metrics: dict | None = None  # the last validation's scores, with the iteration they are of
        self.saved_at: int | None = None  # iteration of the last checkpoint written (or resumed from)
        self.bicubic: dict[int, float] | None = None  # bicubic PSNR per scale on the validation set, once needed
        self.batch = max(1, cfg.batch_size // self.world)

    @property
    def averaged(self) -> nn.Module:
        """The weights that are validated and saved: the EMA when there is one."""
        return self.ema if self.ema is not None else self.model

    # --- state -----------------------------------------------------------------------------------
    def _state(self) -> dict:
        return {"iteration": self.iteration, "best": self.best, "elapsed": self.elapsed,
                "numpy_rng": self.rng.bit_generator.state, "config": self.cfg.to_dict()}

    def resume(self) -> None:
        state = load_checkpoint(self.out / CHECKPOINT, model=self.model, optimizer=self.optimizer, ema=self.ema)
        defaults = config_defaults()  # keys added since the run began
        saved = {k: v for k, v in {**defaults, **state["config"]}.items() if k not in RESUME_MAY_CHANGE}
        mine = {k: v for k, v in self.cfg.to_dict().items() if k not in RESUME_MAY_CHANGE}
        if saved != mine:
            diff = sorted(k for k in mine if saved.get(k) != mine[k])
            raise ConfigError(f"cannot resume {self.out}: the config differs in {', '.join(diff)}")
        self.iteration, self.best, self.elapsed = state["iteration"], state["best"], state["elapsed"]
        self.saved_at = self.iteration
        if self.best is not None and not math.isfinite(self.best):  # written by an older edgesr
            self.best = None
        if not math.isfinite(float(_largest_magnitude(self.params + self.ema_params))):
            raise TrainingError(f"cannot resume {self.out}: its checkpoint holds non-finite weights (a diverged run "
                                "saved before edgesr checked for this); start a new run with a lower lr")
        if self.world == 1:
            self.rng.bit_generator.state = state["numpy_rng"]
        else:  # every rank draws its own stream, advanced past what it used
            self.rng = np.random.default_rng([self.cfg.seed, self.rank, self.iteration])

    def _write_checkpoint(self) -> None:
        if self.rank == 0:
            save_checkpoint(self.out / CHECKPOINT, model=self.model, optimizer=self.optimizer,
                            ema=self.ema, state=self._state(), metadata=self._weights_metadata())
            save_weights(self.averaged, self.out / "last.safetensors", metadata=self._weights_metadata())
        self.saved_at = self.iteration

    def _weights_metadata(self) -> dict[str, str]:
        """What the saved weights are: the model's identity (reference, options, colour, upsampling,
        multi-scale), the scales trained, the iteration, QAT, and the validation scores of these
        very weights (when they were validated at this iteration)."""
        meta = {**trained_identity(self.model, self.cfg), "iteration": str(self.iteration)}
        if self.qat is not None:  # tells edgesr export these weights were trained for INT8
            meta["qat"] = json.dumps(dataclasses.asdict(self.qat))
        if self.metrics is not None and self.metrics["iteration"] == self.iteration:
            meta["metrics"] = json_line(self.metrics)
        return meta

    def _log(self, row: dict) -> None:
        if self.rank == 0:
            with open(self.out / "log.jsonl", "a") as f:  # one write per line
                f.write(json_line(row) + "\n")

    # --- steps -----------------------------------------------------------------------------------
    def validate(self) -> dict[int, float]:
        """PSNR on the validation set; with QAT, of the network as INT8 computes it."""
        net = self.averaged.eval()
        if self.val_sim is not None:
            self.val_sim.calibrate()
            net = self.val_sim.eval()
        images = find_images(self.cfg.val_set, self.cfg.data_root)
        # a PSNR of outputs that are not finite is no score at all (NaN pixels become some colour),
        # so such a validation stops the run before it can become the best
        hook = net.register_forward_hook(self._output_check())
        try:
            results = {s: evaluate(torch_upscaler(net), images, s) for s in self.cfg.scales}
        finally:
            hook.remove()
        scores = {s: r.psnr for s, r in results.items()}
        self.metrics = {"iteration": self.iteration, "val_set": images.name,
                        **({"simulated": "int8"} if self.val_sim is not None else {}),
                        "scores": {f"x{s}": {"psnr": round(r.psnr, 4), "ssim": round(r.ssim, 5)}
                                   for s, r in results.items()}}
        self.model.train()
        if self.sim is not None:
            self.sim.train()
        return scores

    def _output_check(self):
        """A forward hook refusing outputs that are not finite. A plain function, not a bound method:
        a model is deep-copied with its hooks (to profile it), and a method would copy the trainer."""
        def check(module: nn.Module, args, output) -> None:
            if (isinstance(output, torch.Tensor) and output.device.type != "meta"  # meta: profiling, no values
                    and not bool(torch.isfinite(output).all())):
                raise self._diverged("the validation outputs are not finite")

        return check

    def _check_learning(self, scores: dict[int, float]) -> None:
        """Past its warm-up (and ``bicubic_floor_after``), a run whose validation PSNR stays below
        bicubic interpolation's at every scale (below it, and no better than at an earlier validation)
        is not learning: stop it with one clear error. A run still climbing towards bicubic goes on."""
        after = self.cfg.bicubic_floor_after
        if after is None or self.iteration < max(self.cfg.warmup, after):
            return
        if self.best is None or float(np.mean(list(scores.values()))) > self.best + 0.01:
            return  # nothing to compare with yet, or still improving
        if self.bicubic is None:
            images = find_images(self.cfg.val_set, self.cfg.data_root)
            self.bicubic = {s: evaluate(torch_upscaler(load_model("bicubic")), images, s).psnr for s in self.cfg.scales}
        if all(scores[s] < self.bicubic[s] for s in scores):
            self._log({"event": "below bicubic", "iteration": self.iteration,
                       "val_psnr": {f"x{s}": p for s, p in scores.items()},
                       "bicubic": {f"x{s}": p for s, p in self.bicubic.items()}})
            below = ", ".join(f"x{s} {scores[s]:.2f} < {self.bicubic[s]:.2f} dB" for s in scores)
            saved = (f"the weights in {self.out} score below bicubic too: do not use them"
                     if self.saved_at is not None else "no checkpoint was written")
            raise TrainingError(f"training stopped at iteration {self.iteration}: its validation PSNR on "
                                f"{self.cfg.val_set} stays below bicubic interpolation's at every scale ({below}), so it "
                                f"is not learning (lr {lr_at(self.cfg, self.iteration - 1):.3g}); lower lr (or add "
                                f"warmup / grad_clip) or check the training data; {saved}")

    def _diverged(self, what: str) -> TrainingError:
        kept = (f"the weights saved in {self.out} are kept (last checkpoint: iteration {self.saved_at})"
                if self.saved_at is not None else "no checkpoint was written")
        return TrainingError(f"training diverged at iteration {self.iteration}: {what} (lr {lr_at(self.cfg, self.iteration - 1):.3g}); "
                             f"lower lr (or add warmup / grad_clip) or check the training data; {kept}")

    def autocast(self):
        """Mixed precision where ``precision`` asks for it (``autocast_dtype``); plain float32 elsewhere."""
        if self.compute_dtype is not None:
            return torch.autocast(self.device.type, dtype=self.compute_dtype)
        return contextlib.nullcontext()

    def step(self, inp: torch.Tensor, target: torch.Tensor, scale: int) -> tuple[float, str | None]:
        """One optimizer step; returns the loss and what went wrong (None: the loss and the weights
        after the step, EMA included, are all finite; read together in the one host sync of the step)."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(self.cfg, self.iteration)
        inp = inp.to(self.device, memory_format=self.memory_format, non_blocking=True)
        target = target.to(self.device, memory_format=self.memory_format, non_blocking=True)
        with self.autocast():
            out = self.net(inp, scale) if self.spec.multi_scale else self.net(inp)
            diff = out.float() - target
            loss = diff.abs().mean() if self.cfg.loss == "l1" else (diff * diff).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.grad_clip:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        try:
            self.optimizer.step()
        except RuntimeError as exc:  # Adam's step size lr / (1 - beta1^t) past the float range
            if "overflow" not in str(exc):
                raise
            return float(loss.detach()), "the optimizer step overflowed"
        if self.ema is not None:
            # warm-up: early on the average follows the weights closely instead of keeping the init
            decay = min(self.cfg.ema, (1 + self.iteration) / (10 + self.iteration))
            with torch.no_grad():
                torch._foreach_lerp_(self.ema_params, self.params, 1 - decay)
        loss = loss.detach().float()
        bad = (~torch.isfinite(loss) | ~torch.isfinite(_largest_magnitude(self.params + self.ema_params))).float()
        if self.world > 1:  # a loss that is not finite on one rank stops every rank at the same step
            torch.distributed.all_reduce(bad, op=torch.distributed.ReduceOp.MAX)
        value, diverged = torch.stack([loss, bad.to(loss.device)]).tolist()
        if not diverged:
            return value, None
        return value, "the loss is not finite" if not math.isfinite(value) else "the weights are not finite"

    def _prepare_out(self, resume: bool) -> None:
        """The run's folder: resumed, or new (refused where a run already is), without the temporary
        files of a writer killed mid-write, and with the config written (rank 0)."""
        if resume:
            if not (self.out / CHECKPOINT).is_file():  # before any folder is made: a failed resume leaves none
                raise ConfigError(f"nothing to resume in {self.out}: it holds no checkpoint ({CHECKPOINT}); start the run "
                                  "without --resume, or give the out_dir of the run to continue")
            self.resume()
        elif (self.out / CHECKPOINT).exists():
            raise ConfigError(f"{self.out} already holds a run; pass --resume to continue it or choose another out_dir")
        self._check_inputs()
        self.out.mkdir(parents=True, exist_ok=True)
        if self.rank == 0:  # a writer killed mid-write leaves its temporary file; the finished files are whole
            for name in (CHECKPOINT, "last.safetensors", "best.safetensors"):
                for stale in self.out.glob(f".{name}.*.tmp"):
                    stale.unlink(missing_ok=True)
            # on resume the config may differ only in RESUME_MAY_CHANGE
            write_text(self.out / "config.json", json.dumps(self.cfg.to_dict(), indent=2) + "\n")

    def _check_inputs(self) -> None:
        """Before the run's folder is made: the training and validation sets are there, the folder holds
        none of their images (the run's files would mix with them), and no file the run writes is its
        warm-start weights."""
        from edgesr.data.batch import check_folder, check_output

        cfg = self.cfg
        images = [f for name in (*cfg.train_sets, cfg.val_set) for f in find_images(name, cfg.data_root).files]
        check_folder(self.out, images, "images of a training or validation set (out_dir)")
        if cfg.init:
            for name in (CHECKPOINT, "last.safetensors", "best.safetensors"):
                check_output(self.out / name, [Path(cfg.init)])

    def _validation_point(self) -> float:
        """Validate, keep the best weights (best.safetensors) and log the scores; the mean PSNR."""
        scores = self.validate()
        self._check_learning(scores)  # before anything is saved from this validation
        psnr = float(np.mean(list(scores.values())))
        if math.isfinite(psnr) and (self.best is None or psnr > self.best):
            self.best = psnr
            save_weights(self.averaged, self.out / "best.safetensors", metadata=self._weights_metadata())
        self._log({"iteration": self.iteration, "val_set": self.cfg.val_set,
                   "val_psnr": {f"x{s}": p for s, p in scores.items()}, "best": self.best})
        return psnr

    def fit(self, resume: bool = False, progress: bool = True, until: int | None = None) -> TrainResult:
        """Train to ``cfg.iterations``, or pause at iteration ``until`` with a checkpoint (resume later)."""
        cfg = self.cfg
        stop = cfg.iterations if until is None else min(until, cfg.iterations)
        self._prepare_out(resume)
        sampler = PatchSampler(cfg.train_sets, cfg.scales, cfg.patch_size, self.spec.colour,
                               self.spec.upsampling == "pre", cfg.data_root, cfg.data_cache, cfg.augment)
        self._log({"event": "start", "iteration": self.iteration, "iterations": cfg.iterations, "images": sampler.images,
                   "prepare_seconds": round(sampler.prepare_seconds, 2), "world_size": self.world,
                   **({"qat": dataclasses.asdict(self.qat)} if self.qat else {}),
                   "device": str(self.device), "hardware": hardware(self.device, self.world),
                   **({"cpu": _cpu_name()} if self.device.type == "cpu" else {}),
                   "precision": str(self.compute_dtype or torch.float32).removeprefix("torch."),
                   **({"warm_start": {"from": cfg.init, **self.warm_start}} if self.warm_start else {})})
        bar = _Progress(cfg.iterations, cfg.log_every, progress and self.rank == 0)
        self.model.train()
        last_psnr = self.best
        window_start, window_iters, losses = time.perf_counter(), 0, []
        while self.iteration < stop:
            if self.sim is not None and (self.iteration % self.qat.range_every == 0 or not self.sim.calibrated):
                self.sim.calibrate()
            scale = cfg.turns[self.iteration % len(cfg.turns)]
            inp, target = sampler.batch(self.rng, scale, self.batch)
            loss, problem = self.step(inp, target, scale)
            self.iteration += 1
            if problem is not None:
                # nothing is saved from here on: last, best and the checkpoint keep their finite weights
                self._log({"event": "diverged", "iteration": self.iteration, "loss": loss,
                           "lr": lr_at(cfg, self.iteration - 1)})
                raise self._diverged(problem)
            losses.append(loss)
            window_iters += 1
            now = time.perf_counter()
            rate = window_iters / max(now - window_start, 1e-9)
            bar.update(self.iteration, losses[-1], last_psnr, rate, self.batch * self.world)
            if self.iteration % cfg.log_every == 0:
                self.elapsed += now - window_start
                self._log({"iteration": self.iteration, "loss": float(np.mean(losses)), "lr": lr_at(cfg, self.iteration - 1),
                           "patches_per_s": rate * self.batch * self.world, "elapsed": round(self.elapsed, 1)})
                window_start, window_iters, losses = now, 0, []
            if self.iteration % cfg.val_every == 0 or self.iteration == cfg.iterations:
                if self.rank == 0:
                    last_psnr = self._validation_point()
                window_start = time.perf_counter()
            if self.iteration % cfg.checkpoint_every == 0 or self.iteration in (stop, cfg.iterations):
                self._write_checkpoint()
        if bar.tty and bar.enabled:
            print(file=sys.stderr)
        if self.rank == 0 and self.iteration >= cfg.iterations:  # finished: what stays once the weights go
            from edgesr.train.summary import write_summary

            write_summary(self.out)
        if self.world > 1:
            torch.distributed.barrier()
        return TrainResult(self.iteration, self.best, self.out, self.elapsed)


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True, until: int | None = None) -> TrainResult:
    trainer = Trainer(cfg)
    try:
        return trainer.fit(resume=resume, progress=progress, until=until)
    finally:
        if trainer.world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
