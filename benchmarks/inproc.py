"""In-process timings of the library, run in a child process by `run.py`:

    python benchmarks/inproc.py CAPTURE [--cpus N] [--reps R] [--warm TINY_CAPTURE]

Prints one JSON object: median seconds of reading the capture alone (`read`), reading plus
checksum verification with the fast path (`verify`: capture.open.open_capture +
fast.verify.verify_batches), the verification kernel alone (`kernel`: `verify_chunk` over
the batches walked beforehand, one chunk per CPU of each batch on a thread pool, into
output tables allocated once, so neither the walk, nor the frames handed back to the
reference path, nor fresh memory are in it), and the whole analysis `check` runs (`full`:
analysis.analyse: verification, flow and link checks, diagnoses), with the frame count and
the checksum statuses the verifier counted.

Always holds: the kernels are loaded (and, on a fresh cache, compiled) on the warm-up capture
before any timing starts; `--cpus N` pins this process to N CPUs with sched_setaffinity, so
whatever thread pool the library starts shares those N cores.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable


def _median_seconds(task: Callable[[], object], reps: int) -> tuple[float, object]:
    times = []
    result: object = None
    for _ in range(reps):
        start = time.perf_counter()
        result = task()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("capture")
    parser.add_argument("--cpus", type=int, default=0, help="pin to this many CPUs (0: all)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--warm", help="a small capture to load the kernels with first")
    parser.add_argument("--no-full", action="store_true", help="skip the full analysis")
    args = parser.parse_args()
    if args.cpus:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cpus])

    import numpy as np

    from wiredoctor.analysis import analyse
    from wiredoctor.capture.open import open_capture
    from wiredoctor.checksum.verdict import STATUS_NAMES
    from wiredoctor.fast.verify import verify_batches

    def read() -> int:
        with open_capture(args.capture) as source:
            return sum(len(batch) for batch in source.batches())

    def verify() -> tuple[int, dict[str, int]]:
        with open_capture(args.capture) as source:
            frames, checksums = verify_batches(
                source.batches(), capture_index=0, capture_bytes=source.size
            )
        counts = np.bincount(checksums["status"], minlength=len(STATUS_NAMES))
        return int(frames.shape[0]), {STATUS_NAMES[i]: int(c) for i, c in enumerate(counts)}

    def kernel_alone() -> Callable[[], object]:
        """The timed task of `kernel`, its batches walked and its outputs allocated."""
        from concurrent.futures import ThreadPoolExecutor

        from wiredoctor.fast.verify import _TEMPLATE, _Columns
        from wiredoctor.native.library import kernel
        from wiredoctor.tables import CHECKSUM_DTYPE, FRAME_DTYPE

        run = kernel("verify_chunk")
        cpus = len(os.sched_getaffinity(0))
        source = open_capture(args.capture)
        chunks = []
        for batch in source.batches():
            cols = _Columns.of(batch, 0)
            bounds = np.linspace(0, len(batch), cpus + 1).astype(int)
            for lo, hi in itertools.pairwise(bounds):
                n = int(hi - lo)
                frames = np.empty(n, dtype=FRAME_DTYPE)
                rows = np.empty(3 * n + 64, dtype=CHECKSUM_DTYPE)
                redo = np.zeros(n, dtype=np.uint8)
                chunks.append((cols, int(lo), int(hi), frames, rows, redo))
        pool = ThreadPoolExecutor(max_workers=cpus)
        scratch = [np.zeros(18, dtype=np.int64) for _ in chunks]

        def one(k: int) -> object:
            cols, lo, hi, frames, rows, redo = chunks[k]
            return run(
                cols.buf, cols.data_off[lo:hi], cols.caplen[lo:hi], cols.wirelen[lo:hi],
                cols.linktype[lo:hi], cols.ts_ns[lo:hi], cols.file_off[lo:hi],
                cols.iface[lo:hi], cols.direction[lo:hi], cols.first_frame + lo, 0,
                _TEMPLATE, frames, rows, redo, scratch[k], cols.hashing,
            )  # fmt: skip

        return lambda: list(pool.map(one, range(len(chunks))))

    if args.warm:
        with open_capture(args.warm) as source:
            verify_batches(source.batches(), capture_index=0)
    out: dict[str, object] = {"capture": args.capture, "cpus": len(os.sched_getaffinity(0))}
    out["read"], _ = _median_seconds(read, args.reps)
    out["verify"], verified = _median_seconds(verify, args.reps)
    task = kernel_alone()
    task()  # the first pass touches the outputs' fresh pages
    out["kernel"], _ = _median_seconds(task, args.reps)
    assert isinstance(verified, tuple)
    out["frames"], out["checksums"] = verified
    if not args.no_full:
        out["full"], _ = _median_seconds(lambda: analyse([args.capture]), args.reps)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
