"""Throwaway Redis servers for the fault tests: each on a port of its own, never the shared one."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_start(port: int) -> subprocess.Popen:
    """A redis-server on `port` that keeps nothing on disk, once it accepts connections."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    return process


@contextlib.contextmanager
def redis_running():
    """A throwaway redis-server on a free port while the block runs: (process, port); killed afterwards."""
    port = free_port()
    process = redis_start(port)
    try:
        yield process, port
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)  # a stalled one must wake to die
            process.kill()
        process.wait(timeout=10)
