"""The on-device runner's bundle: the torch-free modules of edgesr that open and run an artifact,
as one zip application a board runs with nothing but Python 3, numpy and a runtime.

``python edgesr-ondevice.pyz JOB.json`` (or ``--probe``) runs :func:`edgesr.devices.ondevice.main`
with the same format table, manifest reader and runners the host uses: one copy of the runtime calls.
The bundle's ``edgesr/__init__.py`` is a stub, so nothing of the host-side API is imported there.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from edgesr.formats import FORMATS, remote_formats

BUNDLE_NAME = "edgesr-ondevice.pyz"
PACKAGE = Path(__file__).resolve().parents[1]  # the edgesr package folder
# what the on-device runner imports, besides the runner module of each on-device format
MODULES = ("edgesr.errors", "edgesr._deps", "edgesr._values", "edgesr.formats", "edgesr.formats.base", "edgesr.manifest",
           "edgesr.runtimes", "edgesr.runtimes.base", "edgesr.runtimes.tiling", "edgesr.runtimes.measure", "edgesr.formats.registry",
           "edgesr.devices", "edgesr.devices.ondevice")
_INIT = '"""edgesr\'s torch-free runtime side, as edgesr.devices.bundle ships it to a device."""\n'
_MAIN = "import sys\n\nfrom edgesr.devices.ondevice import main\n\nsys.exit(main(sys.argv[1:]))\n"


def bundle_modules() -> tuple[str, ...]:
    """The edgesr modules in the bundle (the package itself, ``edgesr``, is a stub)."""
    packages = tuple(f.package_name for f in FORMATS.values())  # the table reads each format's package
    runners = tuple(f.runner_module for f in remote_formats())
    return tuple(dict.fromkeys(MODULES + packages + runners))


def module_file(module: str) -> Path:
    """The source file of an edgesr module (a package's ``__init__.py``)."""
    path = PACKAGE.joinpath(*module.split(".")[1:])
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def write_bundle(folder: str | Path) -> Path:
    """Write ``BUNDLE_NAME`` into ``folder``; returns its path."""
    path = Path(folder) / BUNDLE_NAME
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("__main__.py", _MAIN)
        z.writestr("edgesr/__init__.py", _INIT)
        for module in bundle_modules():
            file = module_file(module)
            z.write(file, file.relative_to(PACKAGE.parent).as_posix())
    return path
