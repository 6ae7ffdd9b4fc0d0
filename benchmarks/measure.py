"""Timing whole processes for the benchmark runner: wall time with time.perf_counter around the
child, CPU time and peak RSS from os.wait4, and interleaved repetitions.

Always holds: every timed child is reaped by os.wait4 (its own rusage, not the runner's);
repetitions interleave the tools (A B C A B C …) so drift in the machine's state hits all of
them alike; a tool that exits with an unexpected status is reported, never silently timed.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One timed child process."""

    wall: float
    """Seconds from spawn to reap."""
    cpu: float
    """User + system seconds of the child."""
    maxrss_mb: float
    """Peak resident set size of the child, MiB (ru_maxrss)."""
    status: int
    """Exit status (negative: killed by that signal)."""
    stderr: str
    """The last lines the child wrote to stderr."""
    crashed: bool = False
    """A Python traceback on stderr: exit status 1 then means a crash, not "problems found"."""


@dataclass(slots=True, kw_only=True)
class Tool:
    """A command line to time and the exit statuses that count as success."""

    name: str
    argv: list[str]
    ok: tuple[int, ...] = (0,)
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return max(r.maxrss_mb for r in self.runs)


# The timed tool is started by this small launcher, never by the runner itself: on Linux,
# exec keeps the old address space's RSS high-water mark in the process's ru_maxrss
# (kernel exec_mmap -> setmax_mm_hiwater_rss), so a tool started straight from a large runner
# would report the runner's peak. The launcher is a bare interpreter (-S -E, three builtin
# modules), so the floor it passes on is a few MiB; it times its child with perf_counter and
# reads the child's own rusage with wait4.
LAUNCHER = """
import os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(out, "w") as sink:
    sink.write(f"{wall} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss} "
               f"{os.waitstatus_to_exitcode(status)}")
"""


def timed(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdout: Path | None = None,
    timeout: float = 1800,
) -> Run:
    """Run `argv` (stdout to /dev/null or `stdout`), timing it and reading its rusage.

    The tool runs in the caller's environment (or `env`) less PYTHONDONTWRITEBYTECODE: a
    user's Python caches compiled modules, and with that variable set every start would
    compile each of wiredoctor's modules from source again.
    """
    env = dict(os.environ if env is None else env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as tmp:
        result, errors = Path(tmp) / "rusage", Path(tmp) / "stderr"
        sink = stdout.open("wb") if stdout is not None else open(os.devnull, "wb")  # noqa: SIM115
        with sink, errors.open("wb") as err:
            launcher = [sys.executable, "-S", "-E", "-c", LAUNCHER, str(result), *argv]
            proc = subprocess.Popen(
                launcher, stdout=sink, stderr=err, env=env, start_new_session=True
            )
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the launcher's own group: it and the tool
                proc.wait()
        text = errors.read_text(errors="replace")
        tail = text.strip().splitlines()[-5:]
        if not result.exists():
            return Run(wall=float(timeout), cpu=0.0, maxrss_mb=0.0, status=-9, stderr="timeout")
        wall, cpu, maxrss_kb, status = result.read_text().split()
    return Run(
        wall=float(wall),
        cpu=float(cpu),
        maxrss_mb=int(maxrss_kb) / 1024,
        status=int(status),
        stderr="\n".join(tail),
        crashed="Traceback (most recent call last)" in text,
    )


def interleave(tools: Sequence[Tool], reps: int, *, log: bool = True) -> None:
    """Time every tool `reps` times, alternating between them; failures raise."""
    for rep in range(reps):
        for tool in tools:
            run = timed(tool.argv)
            if run.status not in tool.ok or run.crashed:
                raise RuntimeError(
                    f"{tool.name} exited {run.status}: {' '.join(tool.argv)}\n{run.stderr}"
                )
            tool.runs.append(run)
            if log:
                print(
                    f"  [{rep + 1}/{reps}] {tool.name}: {run.wall:.2f} s, {run.maxrss_mb:.0f} MiB",
                    file=sys.stderr,
                )


def warm_page_cache(path: Path) -> None:
    """Read the whole file once so every tool starts from a warm page cache."""
    with path.open("rb") as src:
        while src.read(1 << 24):
            pass


def wiredoctor_argv() -> list[str]:
    """How to start the installed console script (or the module when there is none)."""
    beside = Path(sys.executable).parent / "wiredoctor"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("wiredoctor")
    return [found] if found else [sys.executable, "-m", "wiredoctor"]


def tshark_argv(path: Path) -> list[str] | None:
    """tshark verifying IPv4/TCP/UDP checksums and printing frames with a bad one."""
    exe = shutil.which("tshark")
    if exe is None:
        return None
    bad = (
        "ip.checksum.status==0 || tcp.checksum.status==0 || "
        "udp.checksum.status==0 || icmp.checksum.status==0"
    )
    return [
        exe, "-n", "-r", str(path),
        "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
        "-o", "udp.check_checksum:TRUE", "-Y", bad,
    ]  # fmt: skip


def tcpdump_argv(path: Path) -> list[str] | None:
    """tcpdump decoding every frame verbosely (it verifies checksums with -vv)."""
    exe = shutil.which("tcpdump")
    return None if exe is None else [exe, "-nn", "-vv", "-r", str(path)]


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    versions = {"python": sys.version.split()[0]}
    for module in ("numpy", "numba"):
        try:
            versions[module] = __import__(module).__version__
        except ImportError:
            versions[module] = "missing"
    for tool, flag in (("tshark", "--version"), ("tcpdump", "--version")):
        exe = shutil.which(tool)
        if exe:
            first = subprocess.run(
                [exe, flag], capture_output=True, text=True, timeout=30, check=False
            ).stdout.splitlines()
            versions[tool] = first[0] if first else "?"
    return {
        "cpus": str(os.cpu_count()),
        "cpu_model": model,
        "memory_gib": f"{mem_kb / 2**20:.1f}",
        **versions,
    }
