"""Where ``edgesr bench`` runs the artifacts when not on this machine (a board over a transport; the
browser device lives in :mod:`edgesr.devices.browser`), and what each device it runs on can compute
(its float32 matrix-product peak, measured once per bench)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgesr.errors import EdgesrError
from edgesr.formats import FORMATS


@dataclass
class Remote:
    """The device the artifacts run on, when it is not this machine, and what it offers. (The
    browser device, :class:`edgesr.devices.browser.BrowserDevice`, offers the same ``name``,
    ``offers``, ``why_not`` and ``run``.)"""

    transport: object
    offers: dict

    @property
    def name(self) -> str:
        return self.transport.profile.name

    def run(self, artifact: Path, scale: int, lr_dir: Path, out_dir: Path, timing: dict) -> dict:
        from edgesr.devices.remote import run_remote

        return run_remote(self.transport, artifact, scale, lr_dir, out_dir, timing)

    def why_not(self, fmt: str) -> str | None:
        from edgesr.devices.remote import REMOTE_FORMATS

        if fmt not in REMOTE_FORMATS:
            return f"the on-device runner takes {' and '.join(REMOTE_FORMATS)} artifacts"
        if not self.offers.get(fmt):
            return f"device {self.transport.profile.name} has no {FORMATS[fmt].runtime} runtime: {FORMATS[fmt].remote_install} there"
        return None

    def peak(self) -> dict:
        """The device's float32 matrix-product peak, timed there with numpy."""
        from edgesr.devices.remote import probe

        return probe(self.transport, "--peak")




def connect(profile, log: Callable[[str], None]) -> Remote | None:
    if profile.kind in ("local", "cuda"):
        return None
    if profile.kind == "browser":
        from edgesr.devices.browser import connect

        return connect(profile, log)
    from edgesr.devices.remote import probe
    from edgesr.devices.transports import open_transport

    transport = open_transport(profile)
    remote = Remote(transport, probe(transport))
    log(f"device {profile.label}: " + ", ".join(f"{k} {v}" for k, v in remote.offers.items()))
    return remote


def measure_peaks(run_worker: Callable[[dict, Path], dict], workdir: Path, threads: int, device: str,
                  remote, log: Callable[[str], None]) -> dict[str, dict]:
    """The float32 matrix-product peak of each device the rows run on, once per bench: this CPU (a
    fresh worker with the bench's threads, as every row), the CUDA GPU where the baseline runs
    (``device``), and a board (numpy there). A browser has no such probe: its rows get no fraction
    of peak."""
    peaks = {}
    for where in ["cpu"] + (["cuda"] if device == "cuda" else []):
        log(f"peak: float32 matrix product on {where}")
        res = run_worker({"kind": "peak", "device": where, "threads": threads}, workdir)
        if res.get("ok"):
            peaks[where] = {k: v for k, v in res.items() if k != "ok"}
        else:
            log(f"peak on {where} not measured: {res.get('error')}")
    if isinstance(remote, Remote):
        log(f"peak: float32 matrix product on {remote.name}")
        try:
            peaks[remote.name] = remote.peak()
        except EdgesrError as exc:
            log(f"peak on {remote.name} not measured: {exc}")
    return peaks


