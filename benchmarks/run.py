"""Benchmark wiredoctor against tshark and tcpdump on generated captures (`make bench`).

    python benchmarks/run.py [--packets 1000000] [--reps 3] [--big] [--markdown FILE]

Generates the captures if missing (benchmarks/data/, git-ignored), checks that wiredoctor
finds exactly the injected checksum faults, then times in interleaved repetitions (medians):
`wiredoctor check F --json`, tshark with checksum validation and a bad-checksum filter, and
`tcpdump -nn -vv`, on the pcap and the pcapng; checksum verification alone and the full
analysis in-process (pinned to 1 and to 2 CPUs); the first-ever run (fresh numba cache, no
compiled library), the build of the compiled kernels from nothing, and the warm starts; with
`--big`, peak RSS of `check` on a >= 4 GB capture.
Prints the tables (and writes them to --markdown), and all numbers to benchmarks/data/results.json.

Always holds: every number printed comes from this run on this machine; a tool that is not
installed is reported as skipped, never guessed; timings are whole processes with a warm page
cache unless a row says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from generate import generate, read_truth, truth_json
from measure import (
    Tool,
    interleave,
    machine,
    tcpdump_argv,
    timed,
    tshark_argv,
    warm_page_cache,
    wiredoctor_argv,
)
from report import markdown

HERE = Path(__file__).resolve().parent
BIG_BYTES = 4.4e9  # over 4 GiB (4.29e9 bytes)


def capture_name(packets: int, fmt: str) -> str:
    label = f"{packets // 1_000_000}m" if packets % 1_000_000 == 0 else str(packets)
    return f"bench-{label}.{fmt}"


def ensure(
    path: Path, *, packets: int, fmt: str, min_bytes: float = 0, exclude: tuple[str, ...] = ()
) -> None:
    """Generate `path` (and its truth) unless both are there already."""
    if path.exists() and truth_json(path).exists():
        return
    print(f"generating {path} …", file=sys.stderr)
    generate(path, packets=packets, fmt=fmt, min_bytes=int(min_bytes), exclude=exclude)


def check_faults(path: Path, wd: list[str]) -> dict[str, Any]:
    """Does wiredoctor report exactly the injected faults? (packets --json and check --json)"""
    truth = read_truth(path)
    expected_counts = json.loads(truth_json(path).read_text())["checksums"]
    with tempfile.TemporaryDirectory() as tmp:
        lines = Path(tmp) / "packets.jsonl"
        run = timed([*wd, "packets", str(path), "--json"], stdout=lines)
        if run.status != 0 or run.crashed:
            return {"ok": False, "error": f"packets exited {run.status}: {run.stderr}"}
        found: set[tuple[int, str, int, str]] = set()
        with lines.open() as src:
            for line in src:
                if '"bad"' not in line:
                    continue
                frame = json.loads(line)
                for ck in frame["checksums"]:
                    if ck["status"] == "bad":
                        found.add((frame["frame"], ck["proto"], ck["depth"], ck["cause"]))
        doc_path = Path(tmp) / "check.json"
        check = timed([*wd, "check", str(path), "--json"], stdout=doc_path)
        counts = (
            json.loads(doc_path.read_text())["summary"]["checksums"]
            if check.status in (0, 1) and not check.crashed
            else {}
        )
    missed, extra = truth - found, found - truth
    return {
        "ok": not missed and not extra and counts == expected_counts,
        "injected": len(truth),
        "found": len(found),
        "missed": sorted(missed)[:10],
        "extra": sorted(extra)[:10],
        "summary_checksums": counts,
        "expected_checksums": expected_counts,
        "packets_seconds": round(run.wall, 2),
    }


def compare(path: Path, wd: list[str], reps: int) -> dict[str, Any]:
    """Interleaved timings of wiredoctor check, tshark and tcpdump -vv on one capture."""
    tools = [
        Tool(name="wiredoctor check --json", argv=[*wd, "check", str(path), "--json"], ok=(0, 1))
    ]
    skipped = []
    for name, argv in (
        ("tshark (checksums on)", tshark_argv(path)),
        ("tcpdump -nn -vv", tcpdump_argv(path)),
    ):
        if argv is None:
            skipped.append(name.split()[0])
        else:
            tools.append(Tool(name=name, argv=argv))
    warm_page_cache(path)
    smoke = timed(tools[0].argv)
    if smoke.status not in tools[0].ok or smoke.crashed:
        print(
            f"wiredoctor check failed ({smoke.status}); timing the others only:\n{smoke.stderr}",
            file=sys.stderr,
        )
        tools = tools[1:]
        skipped.append("wiredoctor")
    interleave(tools, reps)
    return {
        "capture": path.name,
        "bytes": path.stat().st_size,
        "frames": json.loads(truth_json(path).read_text())["frames"],
        "skipped": skipped,
        "tools": {
            t.name: {
                "median": t.median,
                "runs": [r.wall for r in t.runs],
                "peak_rss_mb": t.peak_rss_mb,
            }
            for t in tools
        },
    }


def inprocess(path: Path, tiny: Path, reps: int) -> dict[str, Any]:
    """Verification alone and the full analysis, in a child pinned to 1 and then 2 CPUs."""
    out: dict[str, Any] = {}
    for cpus in (1, 2):
        if cpus > len(os.sched_getaffinity(0)):
            continue
        argv = [sys.executable, str(HERE / "inproc.py"), str(path), "--cpus", str(cpus)]
        argv += ["--reps", str(reps), "--warm", str(tiny)]
        if cpus == 1:
            argv.append("--no-full")
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=1800)
        if done.returncode != 0:
            out[f"cpus{cpus}"] = {"error": done.stderr.strip().splitlines()[-3:]}
            continue
        out[f"cpus{cpus}"] = json.loads(done.stdout.splitlines()[-1])
    return out


def _built(native: Path) -> bool:
    """True once a complete set of libraries is in `native` (a WIREDOCTOR_CACHE_DIR)."""
    return any((d / "complete").exists() for d in native.glob("native-*"))


def _empty_caches(cache: Path) -> dict[str, str]:
    """The environment with numba's cache and the compiled kernels' place in `cache`
    (`native` below it holds the libraries)."""
    return {
        **os.environ,
        "NUMBA_CACHE_DIR": str(cache / "numba"),
        "WIREDOCTOR_CACHE_DIR": str(cache / "native"),
    }


def startup(tiny: Path, small: Path, wd: list[str], reps: int) -> dict[str, Any]:
    """First-ever runs and the build from nothing (fresh numba cache, no compiled library),
    and warm starts.

    The first run checks `small`, above the size below which the reference decoders are
    always used but under the frames the first run reads without the compiled kernels: it
    starts their build in the background and returns; the runner then waits for that build
    (how long, from the run's start, is `background_build`) before the warm starts. The
    build alone, as an install does it, is `python -m wiredoctor.native` timed from
    nothing. Warm starts are timed on both captures: `tiny` runs on the plain path, `small`
    loads the libraries (neither loads numba).
    """
    with tempfile.TemporaryDirectory() as cache:
        native = Path(cache) / "native"
        env = _empty_caches(Path(cache))
        argv = [*wd, "check", str(small), "--json"]
        began = time.monotonic()
        first = timed(argv, env=env)
        while not _built(native) and time.monotonic() - began < 600:
            time.sleep(0.05)
        background = time.monotonic() - began
        time.sleep(1.0)  # the builder process exits after marking the set complete
        warm_small = [timed(argv, env=env) for _ in range(max(reps, 5))]
        warm_tiny = [timed([*wd, "check", str(tiny), "--json"], env=env) for _ in range(5)]
    with tempfile.TemporaryDirectory() as cache:
        build = timed([sys.executable, "-m", "wiredoctor.native"], env=_empty_caches(Path(cache)))
    runs = [first, *warm_small, *warm_tiny]
    if any(r.status not in (0, 1) or r.crashed for r in runs) or build.status != 0:
        failed = next((r for r in runs if r.status not in (0, 1) or r.crashed), build)
        return {"error": failed.stderr}
    return {
        "first_run": first.wall,
        "first_run_capture": small.name,
        "first_run_stderr": first.stderr,
        "background_build": background,
        "build": build.wall,
        "warm_start": statistics.median(r.wall for r in warm_tiny),
        "warm_start_small": statistics.median(r.wall for r in warm_small),
        "warm_small_stderr": "".join(r.stderr for r in warm_small),
        "warm_rss_mb": max(r.maxrss_mb for r in warm_tiny),
    }


def big_run(data: Path, wd: list[str], big_bytes: float) -> dict[str, Any]:
    """Peak RSS and time of one `check` on a capture over 4 GiB (generated on demand)."""
    path = data / "bench-big.pcap"
    ensure(path, packets=0, fmt="pcap", min_bytes=big_bytes)
    warm_page_cache(path)
    truth = json.loads(truth_json(path).read_text())
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "check.json"
        run = timed([*wd, "check", str(path), "--json"], stdout=doc)
        ok = run.status in (0, 1) and not run.crashed
        counts = json.loads(doc.read_text())["summary"]["checksums"] if ok else {}
    return {
        "capture": path.name,
        "bytes": path.stat().st_size,
        "frames": truth["frames"],
        "seconds": run.wall,
        "peak_rss_mb": run.maxrss_mb,
        "status": run.status,
        "checksums_match": counts == truth["checksums"],
        "stderr": run.stderr,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--formats", default="pcap,pcapng")
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--big", action="store_true", help="also measure a >= 4 GiB capture")
    parser.add_argument("--big-bytes", type=float, default=BIG_BYTES)
    parser.add_argument("--markdown", type=Path, help="also write the tables here")
    args = parser.parse_args(argv)
    wd = wiredoctor_argv()
    results: dict[str, Any] = {"machine": machine(), "packets": args.packets, "reps": args.reps}
    tiny = args.data / "bench-tiny.pcap"
    ensure(tiny, packets=200, fmt="pcap")
    small = args.data / "bench-small.pcap"
    ensure(small, packets=3000, fmt="pcap")
    results["startup"] = startup(tiny, small, wd, args.reps)
    results["captures"] = []
    for fmt in args.formats.split(","):
        path = args.data / capture_name(args.packets, fmt)
        ensure(path, packets=args.packets, fmt=fmt)
        print(f"{path.name}: checking faults …", file=sys.stderr)
        entry = {"faults": check_faults(path, wd), **compare(path, wd, args.reps)}
        results["captures"].append(entry)
    first = args.data / capture_name(args.packets, args.formats.split(",")[0])
    print("in-process verification …", file=sys.stderr)
    results["inprocess"] = inprocess(first, tiny, args.reps)
    # The same mix without IPv4 fragments: what the kernel does on frames it handles itself.
    plain = first.with_name(first.stem + "-nofrag" + first.suffix)
    ensure(plain, packets=args.packets, fmt="pcap", exclude=("udp4-fragmented",))
    results["inprocess_nofrag"] = inprocess(plain, tiny, args.reps)
    if args.big:
        print("big capture …", file=sys.stderr)
        results["big"] = big_run(args.data, wd, args.big_bytes)
    (args.data / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    text = markdown(results)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
