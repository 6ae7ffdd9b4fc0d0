"""A small network laboratory: namespaces, veth links, traffic and captures, all cleaned up.

Always holds: every namespace and process a `Lab` creates is removed when the `Lab` closes
(also when the test fails); traffic stays inside those namespaces; every command and every
traffic loop is bounded in time. Tests that use it skip with the reason when not root or
when `ip`/`tcpdump` are missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def require_lab(*tools: str) -> None:
    """Skip the calling test unless running as root with `ip`, `tcpdump` and `tools`."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces")
    for tool in ("ip", "tcpdump", *tools):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} on PATH")


class Lab:
    """Namespaces and links for one test; use as a context manager."""

    def __init__(self, tag: str) -> None:
        self.prefix = f"wd{os.getpid() % 100000}{tag}"[:10]
        self.namespaces: list[str] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def ns(self, name: str) -> str:
        """Create namespace `<prefix>-<name>` with loopback up; returns its full name."""
        full = f"{self.prefix}-{name}"
        subprocess.run(["ip", "netns", "add", full], check=True, timeout=10)
        self.namespaces.append(full)
        self.run(full, "ip", "link", "set", "lo", "up")
        return full

    def link(
        self,
        ns_a: str,
        if_a: str,
        addr_a: str,
        ns_b: str,
        if_b: str,
        addr_b: str,
        *,
        mtu: int | None = None,
    ) -> None:
        """A veth pair between two namespaces, addresses in CIDR form, both ends up."""
        subprocess.run(
            [
                "ip",
                "link",
                "add",
                if_a,
                "netns",
                ns_a,
                "type",
                "veth",
                "peer",
                "name",
                if_b,
                "netns",
                ns_b,
            ],
            check=True,
            timeout=10,
        )
        for ns, iface, addr in ((ns_a, if_a, addr_a), (ns_b, if_b, addr_b)):
            self.run(ns, "ip", "addr", "add", addr, "dev", iface)
            if mtu is not None:
                self.run(ns, "ip", "link", "set", iface, "mtu", str(mtu))
            self.run(ns, "ip", "link", "set", iface, "up")

    def run(
        self, ns: str, *cmd: str, check: bool = True, timeout: float = 20
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside a namespace and wait for it (bounded by `timeout`)."""
        return subprocess.run(
            ["ip", "netns", "exec", ns, *cmd],
            check=check,
            timeout=timeout,
            capture_output=True,
            text=True,
        )

    def popen(self, ns: str, *cmd: str) -> subprocess.Popen[bytes]:
        """Start a command in a namespace; it is ended when the lab closes."""
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *cmd],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.processes.append(proc)
        return proc

    @contextmanager
    def capture(self, ns: str, iface: str, path: Path, *, snaplen: int = 262144) -> Iterator[Path]:
        """tcpdump on `iface` in `ns` writing `path` while the block runs."""
        proc = self.popen(
            ns,
            "tcpdump",
            "-i",
            iface,
            "--immediate-mode",
            "-U",
            "-n",
            "-s",
            str(snaplen),
            "-w",
            str(path),
        )
        deadline = time.monotonic() + 10
        while not path.exists() or path.stat().st_size < 24:
            if proc.poll() is not None or time.monotonic() > deadline:
                self._stop(proc)
                raise RuntimeError(f"tcpdump did not start on {ns}/{iface}")
            time.sleep(0.05)
        time.sleep(0.3)  # tcpdump writes the header before the socket is fully attached
        try:
            yield path
        finally:
            time.sleep(0.3)
            self._stop(proc)

    def tcp_transfer(
        self,
        server_ns: str,
        client_ns: str,
        server_addr: str,
        port: int,
        nbytes: int,
        *,
        timeout: float = 10,
    ) -> int:
        """Send `nbytes` from client to server over TCP; returns the bytes the server got."""
        server = self.popen(
            server_ns, sys.executable, "-c", _SERVER, server_addr, str(port), str(timeout)
        )
        time.sleep(0.3)
        self.run(
            client_ns,
            sys.executable,
            "-c",
            _CLIENT,
            server_addr,
            str(port),
            str(nbytes),
            str(timeout),
            check=False,
            timeout=timeout + 5,
        )
        try:
            server.wait(timeout=timeout + 5)
        except subprocess.TimeoutExpired:
            self._stop(server)
        err = server.stderr.read().decode() if server.stderr else ""
        self._stop(server)
        for line in err.splitlines():
            if line.startswith("received "):
                return int(line.split()[1])
        return 0

    def _stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if proc.stderr is not None and not proc.stderr.closed:
            proc.stderr.close()

    def close(self) -> None:
        for proc in self.processes:
            self._stop(proc)
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], check=False, timeout=10)
        self.namespaces.clear()
        self.processes.clear()


# Traffic programs run inside the namespaces, each bounded by its own timeout argument.
_SERVER = """
import socket, sys
addr, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.listen(1); s.settimeout(timeout)
total = 0
try:
    c, _ = s.accept(); c.settimeout(timeout)
    while True:
        b = c.recv(65536)
        if not b:
            break
        total += len(b)
    c.sendall(b"ok"); c.close()
except OSError:
    pass  # the peer went away: report what arrived
sys.stderr.write(f"received {total}\\n")
"""

_CLIENT = """
import socket, sys
addr, port, n, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(timeout)
try:
    s.connect((addr, port)); s.sendall(bytes(range(256)) * (n // 256) + b"x" * (n % 256))
    s.shutdown(socket.SHUT_WR); s.recv(16)
except OSError:
    pass  # the server went away: nothing more to send
s.close()
"""
