"""A real OpenSSH server on 127.0.0.1, started for these tests with throwaway keys; nothing else is
contacted. The device's Python is $EDGESR_BOARD_PYTHON when set (CI points it at a venv holding only
numpy<2 and tflite-runtime, as older boards carry), else this interpreter."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    daemon = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)
    if daemon is None or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.skip("OpenSSH is not installed: apt install openssh-server openssh-client (.ci/run does)")
    d = tmp_path_factory.mktemp("sshd")
    _keygen(d / "host_key")
    _keygen(d / "client_key")
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
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"sshd did not start: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.1)
    host_key = (d / "host_key.pub").read_text().split()
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    yield {"port": port, "key": d / "client_key", "known_hosts": d / "known_hosts", "dir": d}
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def board_python() -> str:
    return os.environ.get("EDGESR_BOARD_PYTHON") or sys.executable


@pytest.fixture(scope="session")
def ssh_profile(sshd, board_python, tmp_path_factory):
    """A device profile (TOML, as users write them) for the local sshd; its workdir has a space, a
    quote, a dollar and a semicolon in it, which every remote command must survive."""
    d = tmp_path_factory.mktemp("devices")
    workdir = d / "board's work $HOME; dir"
    text = "\n".join([
        'kind = "ssh"', 'description = "OpenSSH on 127.0.0.1 (test)"', 'host = "127.0.0.1"',
        f"port = {sshd['port']}", f'user = "{getpass.getuser()}"', f"key = '{sshd['key']}'",
        f"known_hosts = '{sshd['known_hosts']}'", f"python = '{board_python}'", f'workdir = "{workdir}"',
        "threads = 1", ""])
    path = d / "testboard.toml"
    path.write_text(text)
    return path

