"""Record the bundled example capture: transmit checksum offload on a veth pair.

    sudo python3 examples/record_offload.py [-o examples/offload-veth.pcap]

Two network namespaces joined by a veth pair (tx checksum offload on, the veth default),
addressed like the first seed case (10.0.0.240 talking to 10.0.41.3 on port 22); tcpdump on
the client's end records a short TCP exchange, three UDP datagrams and their replies, and two
pings. The TCP and UDP checksums in the capture hold only the pseudo-header sum (the kernel
left the rest to a NIC that does not exist), in both directions: the peer's segments cross
the pair still marked CHECKSUM_PARTIAL. The ICMP checksums are complete (computed in software).

Always holds: needs root, `ip` and `tcpdump`; traffic stays inside the two namespaces this
script creates; every wait is bounded; the namespaces and every process started here are
removed/ended (by pid) when it finishes, also on failure. IPv6 is disabled inside the
namespaces so that router and neighbour solicitations do not clutter the example.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

CLIENT_ADDR = "10.0.0.240"
SERVER_ADDR = "10.0.41.3"
PREFIX = 16
TCP_PORT = 22
UDP_PORT = 4000

# Runs in the server namespace: one TCP conversation, then echo three UDP datagrams reversed.
SERVER = """
import socket, sys
addr, tport, uport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((addr, uport)); u.settimeout(5)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, tport)); s.listen(1); s.settimeout(5)
print("ready", flush=True)
c, _ = s.accept(); c.settimeout(5)
c.sendall(b"SSH-2.0-OpenSSH_9.2p1 example\\r\\n")
c.recv(4096)
c.sendall(b"Protocol mismatch.\\r\\n")
c.close()
for _ in range(3):
    data, peer = u.recvfrom(2048)
    u.sendto(data[::-1], peer)
"""

# Runs in the client namespace.
CLIENT = """
import socket, sys, time
addr, tport, uport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = socket.create_connection((addr, tport), timeout=5)
c.recv(4096)
c.sendall(b"SSH-2.0-example-client\\r\\n")
c.recv(4096)
c.close()
time.sleep(0.2)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
for size in (17, 64, 301):
    u.sendto(bytes(i % 256 for i in range(size)), (addr, uport))
    u.recvfrom(2048)
"""


def _run(*cmd: str, timeout: float = 15) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, timeout=timeout, capture_output=True, text=True)


def _in(ns: str, *cmd: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *cmd]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End a process this script started (its own session), politely first."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def record(output: Path) -> int:
    """Build the namespaces, make the traffic, write `output`; returns the frames captured."""
    tag = f"wdex{os.getpid() % 100000}"
    client, server = f"{tag}-c", f"{tag}-s"
    procs: list[subprocess.Popen[bytes]] = []
    made: list[str] = []
    tmp = output.with_name(output.name + ".part")
    try:
        for ns in (client, server):
            _run("ip", "netns", "add", ns)
            made.append(ns)
            for knob in ("all", "default"):
                _run(*_in(ns, "sysctl", "-qw", f"net.ipv6.conf.{knob}.disable_ipv6=1"))
            _run(*_in(ns, "ip", "link", "set", "lo", "up"))
        _run("ip", "link", "add", "veth0", "netns", client, "type", "veth", "peer", "name", "veth1",
             "netns", server)  # fmt: skip
        for ns, dev, addr in ((client, "veth0", CLIENT_ADDR), (server, "veth1", SERVER_ADDR)):
            _run(*_in(ns, "ip", "addr", "add", f"{addr}/{PREFIX}", "dev", dev))
            _run(*_in(ns, "ip", "link", "set", dev, "up"))
        features = (
            _run(*_in(client, "ethtool", "-k", "veth0")).stdout if shutil.which("ethtool") else ""
        )
        if "tx-checksumming: on" not in features and features:
            raise SystemExit("veth0 came up without tx checksum offload; nothing to show")
        dump = subprocess.Popen(
            _in(
                client,
                "tcpdump",
                "-i",
                "veth0",
                "--immediate-mode",
                "-U",
                "-n",
                "-s",
                "262144",
                "-w",
                str(tmp),
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        procs.append(dump)
        deadline = time.monotonic() + 10
        while not tmp.exists() or tmp.stat().st_size < 24:
            if dump.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("tcpdump did not start")
            time.sleep(0.05)
        time.sleep(0.5)  # the file header is written before the socket is attached
        srv = subprocess.Popen(
            _in(server, sys.executable, "-c", SERVER, SERVER_ADDR, str(TCP_PORT), str(UDP_PORT)),
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        procs.append(srv)
        assert srv.stdout is not None
        if srv.stdout.readline().strip() != b"ready":
            raise SystemExit("the example server did not start")
        _run(*_in(client, sys.executable, "-c", CLIENT, SERVER_ADDR, str(TCP_PORT), str(UDP_PORT)))
        srv.wait(timeout=10)
        _run(*_in(client, "ping", "-c", "2", "-i", "0.2", "-W", "2", SERVER_ADDR))
        time.sleep(0.5)
        _stop(dump)
        # Copied, not renamed: tcpdump drops privileges and owns the file it wrote.
        output.unlink(missing_ok=True)
        output.write_bytes(tmp.read_bytes())
    finally:
        for proc in procs:
            _stop(proc)
        for ns in reversed(made):
            subprocess.run(["ip", "netns", "del", ns], check=False, timeout=10)
        tmp.unlink(missing_ok=True)
    listing = _run("tcpdump", "-nn", "-r", str(output)).stdout
    return len(listing.splitlines())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    here = Path(__file__).resolve().parent
    parser.add_argument("-o", "--output", type=Path, default=here / "offload-veth.pcap")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("record_offload.py: needs root (network namespaces)", file=sys.stderr)
        return 2
    for tool in ("ip", "tcpdump", "ping"):
        if shutil.which(tool) is None:
            print(f"record_offload.py: needs {tool} on PATH", file=sys.stderr)
            return 2
    frames = record(args.output)
    print(f"{args.output}: {frames} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
