"""Devices: profiles (TOML), transports (ssh, adb), the one-file on-device runner and remote runs."""
