"""A throwaway OpenSSH server on 127.0.0.1: the ssh device path end to end without a board.

``with loopback_device(folder, python=...) as profile_path:`` generates a host key and a client key
in ``folder``, starts ``sshd`` (Debian's ``openssh-server``) on a free port that only accepts that
key, and writes a device profile for it; the server stops when the block ends. The tests and
``benchmarks/ssh_loopback.py`` use it; it also lets a user try ``edgesr bench --device`` first.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from edgesr.errors import DeviceError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sshd_path() -> str | None:
    """The OpenSSH server binary, or None (with the client tools it needs) when not installed."""
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return None
    return shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)


@contextlib.contextmanager
def loopback_device(folder: str | os.PathLike, python: str | None = None, workdir: str | None = None,
                    name: str = "loopback", threads: int = 0) -> Iterator[Path]:
    """Run sshd on 127.0.0.1 while the block runs; yields the path of a device profile for it."""
    daemon = sshd_path()
    if daemon is None:
        raise DeviceError("OpenSSH is not installed: apt install openssh-server openssh-client")
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    for key in ("host_key", "client_key"):
        if not (d / key).exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True)
    shutil.copy(d / "client_key.pub", d / "authorized_keys")
    port = _free_port()
    (d / "sshd_config").write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {d / 'host_key'}",
        f"AuthorizedKeysFile {d / 'authorized_keys'}", "PubkeyAuthentication yes", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "PermitRootLogin prohibit-password",
        f"PidFile {d / 'sshd.pid'}", "LogLevel ERROR", ""]))
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    proc = subprocess.Popen([daemon, "-D", "-e", "-f", str(d / "sshd_config")], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    raise DeviceError(f"sshd did not start: {proc.stderr.read().strip() if proc.stderr else ''}")
                time.sleep(0.1)
        kind, key = (d / "host_key.pub").read_text().split()[:2]
        (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {kind} {key}\n")
        profile = d / f"{name}.toml"
        profile.write_text("\n".join([
            'kind = "ssh"', 'description = "OpenSSH on 127.0.0.1, this machine"', 'host = "127.0.0.1"',
            f"port = {port}", f"user = {_toml_string(getpass.getuser())}", f"key = {_toml_string(str(d / 'client_key'))}",
            f"known_hosts = {_toml_string(str(d / 'known_hosts'))}", f"python = {_toml_string(python or sys.executable)}",
            f"workdir = {_toml_string(workdir or str(d / 'work'))}", f"threads = {threads}", ""]))
        yield profile
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
