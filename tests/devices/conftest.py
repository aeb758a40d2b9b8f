"""A real OpenSSH server on 127.0.0.1, started for these tests with throwaway keys
(:func:`edgesr.devices.loopback.loopback_device`); nothing else is contacted. The device's Python is
$EDGESR_BOARD_PYTHON when set (CI points it at a venv holding only numpy<2 and tflite-runtime, as
older boards carry), else this interpreter."""

from __future__ import annotations

import os
import sys

import pytest

from edgesr.devices.loopback import loopback_device, sshd_path


@pytest.fixture(scope="session")
def board_python() -> str:
    return os.environ.get("EDGESR_BOARD_PYTHON") or sys.executable


@pytest.fixture(scope="session")
def ssh_profile(board_python, tmp_path_factory):
    """A device profile for the local sshd; its workdir has a space, a quote, a dollar and a
    semicolon in it, which every remote command must survive."""
    if sshd_path() is None:
        pytest.skip("OpenSSH is not installed: apt install openssh-server openssh-client (.ci/run does)")
    d = tmp_path_factory.mktemp("sshd")
    with loopback_device(d, python=board_python, workdir=str(d / "board's work $HOME; dir"), name="testboard",
                         threads=1) as profile:
        profile.write_text(profile.read_text().replace("this machine", "test"))
        yield profile
