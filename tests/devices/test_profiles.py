"""Device profiles: the shipped examples load, a bad profile is one clear error, and no profile can run a
command on this machine."""

from pathlib import Path

import pytest

import shutil
import subprocess

from click.testing import CliRunner

from edgesr.cli import main
from edgesr.devices.profiles import SSH_OPTIONS, available_profiles, load_profile, profile_from_dict
from edgesr.devices.transports import SshTransport, open_transport, quote, shell_command
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
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert load_profile("local").kind == "local"
    with pytest.raises(DeviceError, match="no device profile 'phone'; available: local"):
        load_profile("phone")


@pytest.mark.parametrize("text, message", [
    ('kind = "ssh"\nworkdir = "/tmp"\n', "a ssh profile needs host"),
    ('kind = "ssh"\nhost = "h"\nworkdir = "/tmp"\nprot = 22\n', r"unknown key\(s\) prot"),
    ('kind = "telnet"\n', "kind must be one of local, cuda, ssh, adb"),
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


SSH = {"kind": "ssh", "host": "board", "workdir": "/tmp/edgesr"}


@pytest.mark.parametrize("option, why", [
    ("ProxyCommand=sh -c 'touch /tmp/pwned'", "runs a command on this machine"),
    ("proxycommand=nc %h %p", "runs a command on this machine"),
    ("LocalCommand=id", "runs a command on this machine"),
    ("PermitLocalCommand=yes", "runs a command on this machine"),
    ("KnownHostsCommand=/bin/echo", "runs a command on this machine"),
    ("Match=exec true", "runs a command on this machine"),
    ("ProxyJump=evil.example", "connect through other hosts"),
    ("Include=/tmp/evil_config", "reads further ssh configuration"),
    ("IdentityAgent=/tmp/agent.sock", "another agent socket"),
    ("PKCS11Provider=/tmp/evil.so", "loads a library"),
    ("SecurityKeyProvider=/tmp/evil.so", "loads a library"),
    ("ForwardAgent=yes", "forwards your agent"),
    ("LocalForward=8080 localhost:80", "forwards your agent, display or ports"),
    ("ControlPath=/tmp/sock", "shared connection socket"),
    ("SetEnv=LD_PRELOAD=/tmp/x.so", "environment variables"),
    ("UserKnownHostsFile=/dev/null", "known_hosts keys set this"),
    ("HostName=elsewhere", "host, port, user"),
    ("VisualHostKey=yes", "edgesr does not know it to be safe"),
])
def test_ssh_options_that_could_act_on_this_machine_are_refused(option, why):
    with pytest.raises(DeviceError, match=f"ssh option {option.split('=')[0]} is refused: .*{why}.*a profile may set "
                                          "only ConnectTimeout"):
        profile_from_dict("board", {**SSH, "ssh_options": [option]})


@pytest.mark.parametrize("option, takes", [
    ("StrictHostKeyChecking=no", "yes or accept-new"),
    ("StrictHostKeyChecking=off", "yes or accept-new"),
    ("BatchMode=no", "only yes"),
    ("ConnectTimeout=5 ProxyCommand=id", "a whole number"),
    ("Compression=yes\nProxyCommand=id", "yes or no"),
    ("Ciphers=aes128-ctr %d", "a comma-separated list of algorithm names"),
])
def test_ssh_option_values_outside_their_pattern_are_refused(option, takes):
    with pytest.raises(DeviceError, match=f"is refused: .* takes {takes}"):
        profile_from_dict("board", {**SSH, "ssh_options": [option]})


def test_allowed_ssh_options_come_first_so_they_take_effect():
    options = ["connecttimeout = 20", "StrictHostKeyChecking=accept-new", "ServerAliveInterval=5", "BatchMode=yes",
               "Ciphers=aes128-gcm@openssh.com,aes256-ctr", "IPQoS=lowdelay throughput"]
    profile = profile_from_dict("board", {**SSH, "ssh_options": options, "known_hosts": "/tmp/my hosts"})
    assert profile.ssh_options[0] == "ConnectTimeout=20" and len(profile.ssh_options) == len(options)
    assert {o.split("=")[0] for o in profile.ssh_options} <= set(SSH_OPTIONS)
    if shutil.which("ssh") is None:
        pytest.skip("OpenSSH client not installed")
    argv = SshTransport(profile)._argv()
    # ssh keeps an option's first value: ask ssh what it would use (-G: print the configuration, connect to nothing)
    config = subprocess.run([argv[0], "-G", *argv[1:]], capture_output=True, text=True, timeout=30).stdout
    assert "connecttimeout 20" in config and "batchmode yes" in config
    assert "stricthostkeychecking accept-new" in config
    assert "userknownhostsfile /tmp/my hosts" in config  # one file, its space kept
    assert "proxycommand" not in config


@pytest.mark.parametrize("data, message", [
    ({"kind": "adb", "workdir": "/data/local/tmp/e", "adb": "./tools/adb"}, "adb './tools/adb' is refused"),
    ({"kind": "adb", "workdir": "/data/local/tmp/e", "adb": "tools/adb"}, "adb 'tools/adb' is refused"),
    ({"kind": "adb", "workdir": "/data/local/tmp/e", "adb": "/bin/sh"}, "adb '/bin/sh' is refused"),
    ({"kind": "adb", "workdir": "/data/local/tmp/e", "adb": "sh"}, "adb 'sh' is refused"),
    ({**SSH, "python": "python3\nrm -rf ~"}, "python .* holds a control character"),
    ({**SSH, "workdir": "/tmp/a\x1b[2Jb"}, "workdir .* holds a control character"),
    ({**SSH, "description": "board\r"}, "description .* holds a control character"),
    ({**SSH, "workdir": "-rf"}, "workdir '-rf' would be read as an option"),
    ({**SSH, "python": "-c"}, "python '-c' would be read as an option"),
    ({**SSH, "python": 3}, "python must be a non-empty string"),
    ({**SSH, "known_hosts": '/tmp/k" ProxyCommand=id "'}, "known_hosts .* has a double quote"),
])
def test_other_keys_that_reach_a_command_line(data, message):
    with pytest.raises(DeviceError, match=message):
        profile_from_dict("dev", data)


def test_adb_is_a_program_named_adb(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    adb = {"kind": "adb", "workdir": "/data/local/tmp/e"}
    assert profile_from_dict("p", {**adb, "adb": "adb"}).adb == "adb"
    assert profile_from_dict("p", {**adb, "adb": "/opt/platform-tools/adb"}).adb == "/opt/platform-tools/adb"
    got = profile_from_dict("p", {**adb, "adb": "~/Android/Sdk/platform-tools/adb"}).adb
    assert got == str(tmp_path / "Android" / "Sdk" / "platform-tools" / "adb")


def test_the_current_folder_is_not_searched(tmp_path, monkeypatch):
    """A checkout's ./devices could otherwise pick what --device NAME means."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EDGESR_DEVICES", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / "board.toml").write_text('kind = "ssh"\nhost = "board"\nworkdir = "/tmp"\n')
    with pytest.raises(DeviceError, match=r"no device profile 'board'.*devices/board.toml is in the current folder, "
                                          r"which is not searched: read it, then pass --device devices/board.toml"):
        load_profile("board")
    assert load_profile("devices/board.toml").host == "board"  # named by its path: the user chose that file
    mine = tmp_path / "config" / "edgesr" / "devices"
    mine.mkdir(parents=True)
    (mine / "pi.toml").write_text('kind = "ssh"\nhost = "pi"\nworkdir = "/tmp"\n')
    assert load_profile("pi").host == "pi" and "pi" in available_profiles()


def test_bench_refuses_a_profile_that_would_run_a_local_command(tmp_path, data_root):
    marker = tmp_path / "pwned"
    profile = tmp_path / "evil.toml"
    profile.write_text(f'kind = "ssh"\nhost = "board"\nworkdir = "/tmp"\n'
                       f'ssh_options = ["ProxyCommand=touch {marker}"]\n')
    result = CliRunner().invoke(main, ["bench", "--device", str(profile), "--data-root", str(data_root),
                                       "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {profile}: ssh option ProxyCommand is refused: it runs a command on this machine; a profile may set "
        f"only {', '.join(SSH_OPTIONS)}"]
    assert not marker.exists()
