"""Device profiles: TOML files naming where ``edgesr bench --device NAME`` runs.

A profile is found as a path to a ``.toml`` file, or by name in ``--devices-dir``, then
``$EDGESR_DEVICES``, then ``~/.config/edgesr/devices`` (``$XDG_CONFIG_HOME/edgesr/devices``).
``local`` and ``browser`` need no file. Kinds and their keys:

* ``local``: this machine (every format whose runtime is installed here; the PyTorch baseline on its
  CUDA GPU where PyTorch sees one).
* ``cuda``: this machine's CUDA GPU, required: the desktop GPU baseline (PyTorch's precisions and
  modes, and the formats that run on an NVIDIA GPU).
* ``browser``: headless Chromium on this machine running ONNX artifacts in the web app
  (:mod:`edgesr.devices.browser`): ``backend`` (``wasm``, the default, or ``webgpu``), ``chromium``
  and ``chromedriver`` (the programs: a name found on the PATH, or an absolute path to a program of
  that name; default: ``$EDGESR_CHROMIUM``/``$EDGESR_CHROMEDRIVER``, then the PATH), ``threads`` (0:
  every core of this machine) and ``timeout`` (seconds one call into the page may take); no other key.
* ``ssh``: ``host`` and ``workdir`` (required), ``port`` (22), ``user``, ``key`` (a private key
  file; relative to the profile), ``known_hosts`` (default: ssh's own), ``ssh_options`` (more
  ``-o`` options from :data:`SSH_OPTIONS`, such as ``"ConnectTimeout=20"``).
* ``adb``: ``workdir`` (required, such as ``/data/local/tmp/edgesr``), ``serial`` (needed when
  several devices are attached), ``adb`` (the adb program: ``adb`` on the PATH, or an absolute path
  to a file named ``adb``).

The ssh and adb kinds take ``description``, ``python`` (the device's Python, default ``python3``),
``threads`` (0: all cores) and ``timeout`` (seconds for one run on the device).

Trust boundary. A profile decides what runs on the *device* (its ``python`` runs edgesr's
on-device runner there, in ``workdir``), so only use a profile for a device you mean to run code
on. It must never decide what runs on *this* machine, so reading one refuses every way a file
could do that: an ssh option that runs or loads anything locally (``ProxyCommand``,
``LocalCommand``, ``KnownHostsCommand``, ``Match exec``, ``PKCS11Provider``, ...), hands the device
your agent or opens ports (``ForwardAgent``, ``*Forward``), weakens host-key checking
(``StrictHostKeyChecking=no``) or overrides the profile's own keys: every option not in
:data:`SSH_OPTIONS` is refused, as are values outside each option's pattern. ``adb`` must be a
program named adb; no value may hold control characters; hosts, users and serials can never be
taken for an option, and every word a remote shell reads is quoted (``transports``). The current
folder's ``./devices`` is not searched: a checkout you did not write could otherwise choose the
profile behind ``--device NAME``; name such a file by its path once you have read it. What is left
to a profile you use is trusted as such: the host it connects to with your key, and an absolute
``adb`` path (which must name a real adb).

A browser profile runs a program on this machine by its nature, so it may choose that program and
nothing more: ``chromium`` and ``chromedriver`` must be programs with the names Chromium and its
driver have (:data:`CHROMIUM_NAMES`, ``chromedriver``), given bare (looked up on the PATH) or as an
absolute path, as ``adb`` is; they are trusted as the ``adb`` path is (edgesr checks the name, not
what the file holds). A profile cannot add Chromium switches (some, such as
``--renderer-cmd-prefix``, would run any command) or environment variables: edgesr's own fixed
switches are the only ones, and the page is edgesr's app served from 127.0.0.1.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

from edgesr.errors import DeviceError

KINDS = {"local": (), "cuda": (), "ssh": ("host", "workdir"), "adb": ("workdir",), "browser": ()}
HERE = ("local", "cuda")  # the kinds that run on this machine
# the profiles that need no file (a file of the same name found in the search folders wins)
BUILT_IN = {"local": {}, "cuda": {"kind": "cuda", "description": "this machine's CUDA GPU"},
            "browser": {"kind": "browser", "description": "headless Chromium on this machine"}}
BROWSER_KEYS = ("kind", "description", "threads", "timeout", "backend", "chromium", "chromedriver")
BROWSER_BACKENDS = ("wasm", "webgpu")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome",
                  "chrome-headless-shell")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.:@\[\]-]+$")  # host, user and serial: never an option, never a shell word
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
STRING_KEYS = ("description", "python", "workdir", "host", "user", "key", "known_hosts", "serial", "adb", "backend",
               "chromium", "chromedriver")

_INT = (r"[0-9]{1,6}", "a whole number")
_YES_NO = (r"yes|no", "yes or no")
_ALGORITHMS = (r"[-+^]?[A-Za-z0-9@._+-]+(,[A-Za-z0-9@._+-]+)*", "a comma-separated list of algorithm names")
# the -o options a profile may add (name: value pattern, what it takes): none runs or loads anything on
# this machine, reads or writes a file there, forwards anything, or weakens host-key checking
SSH_OPTIONS: dict[str, tuple[str, str]] = {
    "ConnectTimeout": _INT, "ConnectionAttempts": _INT, "ServerAliveInterval": _INT, "ServerAliveCountMax": _INT,
    "TCPKeepAlive": _YES_NO, "Compression": _YES_NO, "CheckHostIP": _YES_NO,
    "StrictHostKeyChecking": (r"yes|accept-new", "yes or accept-new (no, or off, would trust any host key)"),
    "BatchMode": (r"yes", "only yes (edgesr never lets ssh prompt)"),
    "AddressFamily": (r"any|inet|inet6", "any, inet or inet6"),
    "IPQoS": (r"[A-Za-z0-9]+( [A-Za-z0-9]+)?", "one or two QoS names or numbers"),
    "LogLevel": (r"(?i:quiet|fatal|error|info|verbose|debug[123]?)", "QUIET, FATAL, ERROR, INFO, VERBOSE or DEBUG"),
    "RekeyLimit": (r"[0-9]+[KMG]?( ([0-9]+[smhdwSMHDW]?|none))?|default( [0-9]+[smhdwSMHDW]?|none)?",
                   "a data limit and an optional time"),
    "Ciphers": _ALGORITHMS, "MACs": _ALGORITHMS, "KexAlgorithms": _ALGORITHMS, "HostKeyAlgorithms": _ALGORITHMS,
    "PubkeyAcceptedAlgorithms": _ALGORITHMS, "PubkeyAcceptedKeyTypes": _ALGORITHMS,
}
# why some options are refused, for the message (every option not in SSH_OPTIONS is refused)
_REFUSED_WHY = {
    **dict.fromkeys(("proxycommand", "localcommand", "permitlocalcommand", "knownhostscommand", "match"),
                    "it runs a command on this machine"),
    "proxyjump": "it makes ssh connect through other hosts, with their own configuration",
    **dict.fromkeys(("pkcs11provider", "securitykeyprovider"), "it loads a library into ssh on this machine"),
    "include": "it reads further ssh configuration from a file",
    "identityagent": "it points ssh at another agent socket",
    **dict.fromkeys(("forwardagent", "forwardx11", "forwardx11trusted", "localforward", "remoteforward",
                     "dynamicforward", "tunnel", "tunneldevice", "gatewayports"),
                    "it forwards your agent, display or ports to the device"),
    **dict.fromkeys(("controlmaster", "controlpath", "controlpersist"),
                    "it keeps a shared connection socket on this machine"),
    **dict.fromkeys(("sendenv", "setenv"), "it sends environment variables to the device"),
    **dict.fromkeys(("hostname", "port", "user", "identityfile", "userknownhostsfile", "globalknownhostsfile"),
                    "the profile's host, port, user, key and known_hosts keys set this"),
}
_ALLOWED = {name.lower(): name for name in SSH_OPTIONS}


def check_ssh_option(option: object, where: str) -> str:
    """One ``ssh_options`` entry, ``Name=value``, as ``-o`` takes it; refused unless the option is in
    :data:`SSH_OPTIONS` and its value matches that option's pattern."""
    if not isinstance(option, str) or "=" not in option:
        raise DeviceError(f"{where}: ssh_options must be a list of \"Name=value\" strings, got {option!r}")
    name, value = (part.strip() for part in option.split("=", 1))
    key = name.lower()
    if key not in _ALLOWED:
        why = _REFUSED_WHY.get(key, "edgesr does not know it to be safe")
        raise DeviceError(f"{where}: ssh option {name} is refused: {why}; a profile may set only "
                          f"{', '.join(SSH_OPTIONS)}")
    canonical = _ALLOWED[key]
    pattern, takes = SSH_OPTIONS[canonical]
    if not re.fullmatch(pattern, value):
        raise DeviceError(f"{where}: ssh option {canonical}={value} is refused: {canonical} takes {takes} here")
    return f"{canonical}={value}"


def _check_command_words(values: dict, where: str) -> None:
    """The keys that reach a command line here (``adb``) or a shell on the device (``python``,
    ``workdir``): a value the shell or the tool could take for something else is refused."""
    for key in STRING_KEYS:
        value = values.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise DeviceError(f"{where}: {key} must be a non-empty string, got {value!r}")
        if _CONTROL.search(value):
            raise DeviceError(f"{where}: {key} {value!r} holds a control character (a newline, tab, escape, ...)")
    if values.get("workdir", "").startswith("-"):
        raise DeviceError(f"{where}: workdir {values['workdir']!r} would be read as an option; give a path")
    if values.get("python", "").startswith("-"):
        raise DeviceError(f"{where}: python {values['python']!r} would be read as an option; give the device's "
                          "Python command or path")
    if "adb" in values:
        adb = os.path.expanduser(values["adb"])
        if Path(adb).name not in ("adb", "adb.exe") or (os.sep in adb and not os.path.isabs(adb)):
            raise DeviceError(f"{where}: adb {values['adb']!r} is refused: give adb (found on the PATH) or an "
                              "absolute path to a program named adb (a profile must not choose what else runs here)")
        values["adb"] = adb
    for key in ("key", "known_hosts"):
        if '"' in values.get(key, ""):
            raise DeviceError(f"{where}: {key} {values[key]!r} has a double quote, which ssh would read as quoting")


def _check_program(values: dict, key: str, names: tuple[str, ...], where: str) -> None:
    """``chromium``/``chromedriver``: a program of one of ``names``, bare (on the PATH) or an absolute path."""
    if key not in values:
        return
    program = os.path.expanduser(values[key])
    if Path(program).name not in names or (os.sep in program and not os.path.isabs(program)):
        raise DeviceError(f"{where}: {key} {values[key]!r} is refused: give {names[0]} (found on the PATH) or an "
                          f"absolute path to a program named {' or '.join(names)} (a profile must not choose what "
                          "else runs here)")
    values[key] = program


def _check_browser(values: dict, kind: str, where: str) -> None:
    """A browser profile takes only :data:`BROWSER_KEYS`; the browser's keys belong to it alone."""
    if kind != "browser":
        extra = sorted(set(values) & {"backend", "chromium", "chromedriver"})
        if extra:
            raise DeviceError(f"{where}: only browser profiles (kind = \"browser\") take {', '.join(extra)}; "
                              f"this one is {kind}")
        return
    extra = sorted(set(values) - set(BROWSER_KEYS))
    if extra:
        raise DeviceError(f"{where}: a browser profile takes only {', '.join(BROWSER_KEYS)}; not {', '.join(extra)}")
    if values.get("backend", "wasm") not in BROWSER_BACKENDS:
        raise DeviceError(f"{where}: backend must be {' or '.join(BROWSER_BACKENDS)}, got {values['backend']!r}")
    _check_program(values, "chromium", CHROMIUM_NAMES, where)
    _check_program(values, "chromedriver", ("chromedriver",), where)


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
    backend: str = "wasm"  # browser: onnxruntime-web's backend
    chromium: str | None = None  # browser: the programs (None: $EDGESR_CHROMIUM / $EDGESR_CHROMEDRIVER, the PATH)
    chromedriver: str | None = None
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
    _check_command_words(values, where)
    _check_browser(values, kind, where)
    if "ssh_options" in values:
        options = values["ssh_options"]
        if not isinstance(options, list):
            raise DeviceError(f"{where}: ssh_options must be a list of \"Name=value\" strings")
        values["ssh_options"] = tuple(check_ssh_option(o, where) for o in options)
    for key in ("key", "known_hosts"):
        if values.get(key):
            file = Path(os.path.expanduser(values[key]))
            if not file.is_absolute() and path is not None:
                file = path.parent / file
            values[key] = str(file)
    return DeviceProfile(name=name, path=path, **values)


def user_devices_dir() -> Path:
    """``$XDG_CONFIG_HOME/edgesr/devices``, by default ``~/.config/edgesr/devices``: the user's own profiles."""
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "edgesr" / "devices"


def search_dirs(devices_dir: str | os.PathLike | None = None) -> list[Path]:
    """Where a profile name is looked up, in order. Never the current folder (see the module's
    trust boundary)."""
    dirs = [Path(devices_dir)] if devices_dir else []
    if os.environ.get("EDGESR_DEVICES"):
        dirs.append(Path(os.environ["EDGESR_DEVICES"]))
    dirs.append(user_devices_dir())
    return dirs


def available_profiles(devices_dir: str | os.PathLike | None = None) -> list[str]:
    """The built-in profiles (local, cuda, browser), then the names of the profile files found."""
    names = set()
    for folder in search_dirs(devices_dir):
        names.update(p.stem for p in folder.glob("*.toml"))
    return list(BUILT_IN) + sorted(names - set(BUILT_IN))


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
        if name in BUILT_IN:
            return profile_from_dict(name, BUILT_IN[name])
        here = Path("devices") / f"{name}.toml"
        hint = (f"; {here} is in the current folder, which is not searched: read it, then pass --device {here}"
                if here.is_file() else "")
        raise DeviceError(f"no device profile {name!r}; available: {', '.join(available_profiles(devices_dir))} "
                          f"(a .toml path, or a name in --devices-dir, $EDGESR_DEVICES or {user_devices_dir()})"
                          + hint)
    try:
        data = tomllib.loads(files[0].read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DeviceError(f"{files[0]} is not valid TOML: {exc}") from None
    return profile_from_dict(files[0].stem, data, files[0])
