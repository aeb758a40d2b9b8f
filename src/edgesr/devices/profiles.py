"""Device profiles: TOML files naming where ``edgesr bench --device NAME`` runs.

A profile is found as a path to a ``.toml`` file, or by name in ``--devices-dir``, then
``$EDGESR_DEVICES``, then ``./devices``. ``local`` needs no file. Kinds and their keys:

* ``local``: this machine (every format whose runtime is installed here).
* ``ssh``: ``host`` and ``workdir`` (required), ``port`` (22), ``user``, ``key`` (a private key
  file; relative to the profile), ``known_hosts`` (default: ssh's own), ``ssh_options`` (more
  ``-o`` options, such as ``"ConnectTimeout=20"``).
* ``adb``: ``workdir`` (required, such as ``/data/local/tmp/edgesr``), ``serial`` (needed when
  several devices are attached), ``adb`` (the adb command).

Every kind takes ``description``, ``python`` (the device's Python, default ``python3``),
``threads`` (0: all cores) and ``timeout`` (seconds for one run on the device).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

from edgesr.errors import DeviceError

KINDS = {"local": (), "ssh": ("host", "workdir"), "adb": ("workdir",)}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.:@\[\]-]+$")  # host, user and serial: never an option, never a shell word


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    kind: str = "local"
    description: str = ""
    python: str = "python3"
    threads: int = 0
    timeout: float = 900.0
    workdir: str | None = None
    host: str | None = None
    port: int = 22
    user: str | None = None
    key: str | None = None
    known_hosts: str | None = None
    ssh_options: tuple[str, ...] = ()
    serial: str | None = None
    adb: str = "adb"
    path: Path | None = None  # the TOML file it came from

    @property
    def label(self) -> str:
        return f"{self.name} ({self.description})" if self.description else self.name


def profile_from_dict(name: str, data: dict, path: Path | None = None) -> DeviceProfile:
    """Check a profile's keys and values; relative key files are taken from the profile's folder."""
    where = str(path) if path else name
    known = {f.name for f in fields(DeviceProfile)} - {"name", "path"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise DeviceError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
    kind = data.get("kind", "local")
    if kind not in KINDS:
        raise DeviceError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    missing = [k for k in KINDS[kind] if not data.get(k)]
    if missing:
        raise DeviceError(f"{where}: a {kind} profile needs {', '.join(missing)}")
    if kind == "adb" and not str(data["workdir"]).startswith("/"):
        raise DeviceError(f"{where}: an adb workdir must be an absolute path on the device, such as /data/local/tmp/edgesr")
    types = {"port": int, "threads": int, "timeout": (int, float)}
    for key, kind_of in types.items():
        if key in data and (not isinstance(data[key], kind_of) or isinstance(data[key], bool) or data[key] < 0):
            raise DeviceError(f"{where}: {key} must be a non-negative number, got {data[key]!r}")
    for key in ("host", "user", "serial"):
        if data.get(key) is not None and not _SAFE_NAME.match(str(data[key])):
            raise DeviceError(f"{where}: {key} {data[key]!r} has characters a {key} cannot have")
    values = dict(data)
    if "ssh_options" in values:
        options = values["ssh_options"]
        if not isinstance(options, list) or not all(isinstance(o, str) and "=" in o for o in options):
            raise DeviceError(f"{where}: ssh_options must be a list of \"Name=value\" strings")
        values["ssh_options"] = tuple(options)
    for key in ("key", "known_hosts"):
        if values.get(key):
            file = Path(os.path.expanduser(values[key]))
            if not file.is_absolute() and path is not None:
                file = path.parent / file
            values[key] = str(file)
    return DeviceProfile(name=name, path=path, **values)


def search_dirs(devices_dir: str | os.PathLike | None = None) -> list[Path]:
    dirs = [Path(devices_dir)] if devices_dir else []
    if os.environ.get("EDGESR_DEVICES"):
        dirs.append(Path(os.environ["EDGESR_DEVICES"]))
    dirs.append(Path.cwd() / "devices")
    return dirs


def available_profiles(devices_dir: str | os.PathLike | None = None) -> list[str]:
    names = {"local"}
    for folder in search_dirs(devices_dir):
        names.update(p.stem for p in folder.glob("*.toml"))
    return sorted(names)


def load_profile(name: str, devices_dir: str | os.PathLike | None = None) -> DeviceProfile:
    """The profile ``name`` (or the TOML file at that path)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    candidate = Path(name)
    if name.endswith(".toml") or os.sep in name:
        if not candidate.is_file():
            raise DeviceError(f"device profile {name} does not exist")
        files = [candidate]
    else:
        files = [d / f"{name}.toml" for d in search_dirs(devices_dir) if (d / f"{name}.toml").is_file()]
    if not files:
        if name == "local":
            return DeviceProfile("local")
        raise DeviceError(f"no device profile {name!r}; available: {', '.join(available_profiles(devices_dir))} "
                          "(profiles are TOML files in ./devices, $EDGESR_DEVICES or --devices-dir)")
    try:
        data = tomllib.loads(files[0].read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DeviceError(f"{files[0]} is not valid TOML: {exc}") from None
    return profile_from_dict(files[0].stem, data, files[0])
