"""Transports: how files reach a device, how a command runs there, how results come back.

Both go through the real command-line tools (``ssh``, ``adb``), never through a local shell. Every
word of a command that a remote shell reads is quoted with :func:`shlex.quote`, paths included;
hosts, users, serials, ssh options and the adb program are checked when the profile is read
(``profiles``), so none can pass for an option or run anything else on this machine.
"""

from __future__ import annotations

import io
import shlex
import shutil
import subprocess
import tarfile
from pathlib import Path, PurePosixPath

from edgesr.devices.profiles import DeviceProfile
from edgesr.errors import DeviceError


def quote(word: str) -> str:
    """``shlex.quote``, except that a leading ``~/`` stays outside the quotes so the shell expands it."""
    word = str(word)
    return "~/" + shlex.quote(word[2:]) if word.startswith("~/") else shlex.quote(word)


def shell_command(argv: list[str], cwd: str | None = None) -> str:
    """One POSIX shell line running ``argv`` (in ``cwd``), every word quoted."""
    line = " ".join(quote(a) for a in argv)
    return f"cd {quote(cwd)} && {line}" if cwd else line


def last_line(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


class Transport:
    """Copies a folder to the device, runs a command in it, copies files back, removes it."""

    def __init__(self, profile: DeviceProfile):
        self.profile = profile

    def push(self, local_dir: Path, remote_dir: str) -> None:
        raise NotImplementedError

    def pull(self, remote_dir: str, names: list[str], local_dir: Path) -> None:
        raise NotImplementedError

    def run(self, argv: list[str], cwd: str | None = None, timeout: float | None = None) \
            -> subprocess.CompletedProcess:
        raise NotImplementedError

    def remove(self, remote_dir: str) -> None:
        self.run(["rm", "-rf", remote_dir])

    def _tool(self, command: str, kind: str) -> str:
        found = shutil.which(command)
        if not found:
            hint = {"ssh": "apt install openssh-client (or your system's OpenSSH)",
                    "adb": "apt install adb, or Android's platform-tools, or set `adb` in the profile"}[kind]
            raise DeviceError(f"the {kind} command ({command}) is not found for device {self.profile.name}: {hint}")
        return found


class SshTransport(Transport):
    """OpenSSH: ``ssh`` with batch mode (never a password prompt); files travel as a tar stream."""

    def _argv(self) -> list[str]:
        """ssh's command line. ssh keeps the first value it reads for an option, so the profile's
        ``ssh_options`` (only those ``profiles.SSH_OPTIONS`` allows) come before edgesr's defaults,
        which they may override; BatchMode stays yes (the only value a profile may give it)."""
        p = self.profile
        argv = [self._tool("ssh", "ssh"), "-p", str(p.port)]
        for option in p.ssh_options:
            argv += ["-o", option]
        argv += ["-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]
        if p.key:
            argv += ["-i", p.key, "-o", "IdentitiesOnly=yes"]
        if p.known_hosts:  # quoted: ssh reads whitespace in this value as a separator between files
            argv += ["-o", f'UserKnownHostsFile="{p.known_hosts}"']
        return argv + ["--", f"{p.user}@{p.host}" if p.user else p.host]

    def _ssh(self, command: str, stdin: bytes | None = None, timeout: float | None = None) \
            -> subprocess.CompletedProcess:
        try:
            proc = subprocess.run(self._argv() + [command], input=stdin, capture_output=True,
                                  timeout=timeout or self.profile.timeout)
        except subprocess.TimeoutExpired:
            raise DeviceError(f"device {self.profile.name}: no answer within {timeout or self.profile.timeout:.0f} s "
                              f"(raise `timeout` in {self.profile.path})") from None
        if proc.returncode == 255:  # ssh's own failure: connection, authentication, host key
            raise DeviceError(f"ssh to {self.profile.host}:{self.profile.port} failed: {last_line(proc.stderr)}; "
                              f"check host, port, user and key in {self.profile.path}")
        return proc

    def push(self, local_dir: Path, remote_dir: str) -> None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for path in sorted(Path(local_dir).iterdir()):
                tar.add(path, arcname=path.name)
        command = f"mkdir -p {quote(remote_dir)} && tar -C {quote(remote_dir)} -xf -"
        proc = self._ssh(command, stdin=buffer.getvalue())
        if proc.returncode:
            raise DeviceError(f"copying to {self.profile.name}:{remote_dir} failed: {last_line(proc.stderr)}")

    def pull(self, remote_dir: str, names: list[str], local_dir: Path) -> None:
        command = f"tar -C {quote(remote_dir)} -cf - " + " ".join(quote(n) for n in names)
        proc = self._ssh(command)
        if proc.returncode:
            raise DeviceError(f"copying back from {self.profile.name}:{remote_dir} failed: {last_line(proc.stderr)}")
        Path(local_dir).mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
            tar.extractall(local_dir, filter="data")

    def run(self, argv, cwd=None, timeout=None):
        proc = self._ssh(shell_command(argv, cwd), timeout=timeout)
        return subprocess.CompletedProcess(argv, proc.returncode, proc.stdout.decode(errors="replace"),
                                           proc.stderr.decode(errors="replace"))


class AdbTransport(Transport):
    """Android Debug Bridge: ``adb push``/``pull`` (paths go through adb's sync protocol, not a shell)
    and ``adb shell`` with one quoted command line."""

    def _argv(self) -> list[str]:
        argv = [self._tool(self.profile.adb, "adb")]
        return argv + (["-s", self.profile.serial] if self.profile.serial else [])

    def attached(self) -> list[str]:
        """Serials of the devices ``adb devices`` lists as ready."""
        proc = subprocess.run([self._tool(self.profile.adb, "adb"), "devices"], capture_output=True, text=True,
                              timeout=60)
        return [line.split()[0] for line in proc.stdout.splitlines()[1:]
                if len(line.split()) >= 2 and line.split()[1] == "device"]

    def check(self) -> None:
        ready = self.attached()
        if self.profile.serial and self.profile.serial not in ready:
            raise DeviceError(f"device {self.profile.serial} is not attached (adb devices lists "
                              f"{', '.join(ready) or 'none'}); connect it, or fix `serial` in {self.profile.path}")
        if not self.profile.serial and len(ready) != 1:
            raise DeviceError(f"adb lists {len(ready)} devices ({', '.join(ready) or 'none'}); attach one, or set "
                              f"`serial` in {self.profile.path}")

    def _adb(self, args: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(self._argv() + args, capture_output=True, text=True,
                                  timeout=timeout or self.profile.timeout)
        except subprocess.TimeoutExpired:
            raise DeviceError(f"device {self.profile.name}: adb {args[0]} took over "
                              f"{timeout or self.profile.timeout:.0f} s (raise `timeout` in {self.profile.path})") from None

    def push(self, local_dir: Path, remote_dir: str) -> None:
        self.run(["mkdir", "-p", remote_dir])
        for path in sorted(Path(local_dir).iterdir()):
            proc = self._adb(["push", str(path), str(PurePosixPath(remote_dir) / path.name)])
            if proc.returncode:
                raise DeviceError(f"adb push to {self.profile.name}:{remote_dir} failed: {last_line(proc.stderr)}")

    def pull(self, remote_dir: str, names: list[str], local_dir: Path) -> None:
        Path(local_dir).mkdir(parents=True, exist_ok=True)
        for name in names:
            proc = self._adb(["pull", str(PurePosixPath(remote_dir) / name), str(Path(local_dir) / name)])
            if proc.returncode:
                raise DeviceError(f"adb pull from {self.profile.name}:{remote_dir} failed: {last_line(proc.stderr)}")

    def run(self, argv, cwd=None, timeout=None):
        return self._adb(["shell", shell_command(argv, cwd)], timeout=timeout)


TRANSPORTS = {"ssh": SshTransport, "adb": AdbTransport}


def open_transport(profile: DeviceProfile) -> Transport:
    if profile.kind not in TRANSPORTS:
        raise DeviceError(f"device {profile.name} is {profile.kind}: it needs no transport")
    if profile.key and not Path(profile.key).is_file():
        raise DeviceError(f"{profile.path}: key file {profile.key} does not exist; fix `key` or create it with ssh-keygen")
    transport = TRANSPORTS[profile.kind](profile)
    if isinstance(transport, AdbTransport):
        transport.check()
    return transport
