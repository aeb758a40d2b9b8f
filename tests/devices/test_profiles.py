"""Device profiles: the shipped examples load, and a bad profile is one clear error."""

from pathlib import Path

import pytest

from edgesr.devices.profiles import available_profiles, load_profile
from edgesr.devices.transports import open_transport, quote, shell_command
from edgesr.errors import DeviceError

REPO = Path(__file__).resolve().parents[2]


def test_shipped_profiles_load():
    devices = REPO / "devices"
    assert {"local", "raspberrypi", "pixel"} <= set(available_profiles(devices))
    pi = load_profile("raspberrypi", devices)
    assert pi.kind == "ssh" and pi.host and pi.workdir and pi.key.endswith("id_ed25519")
    assert load_profile("pixel", devices).kind == "adb"
    assert load_profile("local", devices).kind == "local"


def test_local_needs_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EDGESR_DEVICES", raising=False)
    assert load_profile("local").kind == "local"
    with pytest.raises(DeviceError, match="no device profile 'phone'; available: local"):
        load_profile("phone")


@pytest.mark.parametrize("text, message", [
    ('kind = "ssh"\nworkdir = "/tmp"\n', "a ssh profile needs host"),
    ('kind = "ssh"\nhost = "h"\nworkdir = "/tmp"\nprot = 22\n', r"unknown key\(s\) prot"),
    ('kind = "telnet"\n', "kind must be one of local, ssh, adb"),
    ('kind = "ssh"\nhost = "-oProxyCommand=x"\nworkdir = "/tmp"\n', "host .* has characters"),
    ('kind = "ssh"\nhost = "h"\nworkdir = "/tmp"\nport = "22"\n', "port must be a non-negative number"),
    ('kind = "adb"\nworkdir = "edgesr"\n', "adb workdir must be an absolute path"),
    ('kind = "ssh"\nhost = "h"\nworkdir = "/tmp"\nssh_options = ["-v"]\n', "ssh_options must be a list"),
    ('kind = ssh\n', "is not valid TOML"),
])
def test_bad_profiles(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(DeviceError, match=message):
        load_profile(str(path))


def test_missing_key_file_is_named(tmp_path):
    path = tmp_path / "board.toml"
    path.write_text('kind = "ssh"\nhost = "board"\nworkdir = "/tmp"\nkey = "keys/id"\n')
    profile = load_profile(str(path))
    assert profile.key == str(tmp_path / "keys" / "id")  # relative to the profile
    with pytest.raises(DeviceError, match="key file .*keys/id does not exist"):
        open_transport(profile)


def test_quoting():
    assert quote("~/venv/bin/python") == "~/venv/bin/python"
    assert quote("~/it's") == "~/'it'\"'\"'s'"
    assert shell_command(["echo", "a b", "$x"], cwd="/w d") == "cd '/w d' && echo 'a b' '$x'"
