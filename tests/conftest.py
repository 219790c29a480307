"""Shared test fixtures: where the real data lives, and the project's commands."""

import os
import socket
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
VENV_BIN = os.path.dirname(sys.executable)
TRACKER = os.path.join(VENV_BIN, "vstream-tracker")


def data(*parts):
    path = os.path.join(DATA, *parts)
    if not os.path.exists(path):
        pytest.fail("test data missing: %s (../shared/data must sit beside the repository)" % path)
    return path


def free_udp_ports(n):
    """n different free UDP ports on loopback (all bound at once, so no two are the same)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_udp_port():
    return free_udp_ports(1)[0]


def run_tracker(*args, timeout=300):
    return subprocess.run([TRACKER, *map(str, args)], capture_output=True, text=True, timeout=timeout)
