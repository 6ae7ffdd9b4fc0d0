"""Generate a large, realistic capture with known checksum faults, and its ground truth.

    python benchmarks/generate.py --packets 1000000 --format pcap -o benchmarks/data/bench-1m.pcap

Writes the capture and, beside it, `<capture>.truth.csv` (one row per injected fault:
frame, proto, depth, cause, value, expected) and `<capture>.truth.json` (what was generated:
seed, frame and byte counts, frames per kind, the checksum verdict counts a correct verifier
must report). The traffic mix: bulk TCP (full-size data and pure ACKs, some padded to the
Ethernet minimum), 802.1Q-tagged TCP, TCP and UDP over IPv6, UDP of odd sizes, IPv4 with a
Router Alert option, fragmented UDP, ICMP echo and ARP; about 1% of units carry one wrong
checksum, spread over every cause and over the IPv4 header, TCP, UDP and ICMP.

Always holds: the output is a function of (seed, packets or min-bytes, error rate, chunk) —
the pcap and pcapng made with the same arguments hold the same frames and timestamps; frames
are built a chunk at a time as numpy rows (no Python loop over packets), so memory stays
bounded for captures of many gigabytes.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gen_faults import inject
from gen_kinds import KINDS
from gen_layers import Ctx
from gen_write import I64, U8, pcap_header, pcapng_header, record_sizes, write_chunk

TS_START_US = 1_700_000_000_000_000
POOL_BYTES = 1 << 22


@dataclass(slots=True)
class Tally:
    """Running totals for the truth JSON."""

    frames: int = 0
    bytes: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    verified: int = 0
    unverified: int = 0
    faults: list[tuple[int, str, str, int, int]] = field(default_factory=list)


def _unit_kinds(rng: np.random.Generator, frames: int, exclude: frozenset[str]) -> tuple[I64, I64]:
    """Kinds of the units filling `frames` frames, and each unit's first frame (0-based)."""
    weights = np.array([0.0 if k.name in exclude else k.weight for k in KINDS])
    per_unit = np.array([k.frames for k in KINDS], dtype=np.int64)
    kinds = rng.choice(len(KINDS), size=frames, p=weights / weights.sum())
    ends = np.cumsum(per_unit[kinds])
    kinds = kinds[ends <= frames]
    used = int(ends[kinds.shape[0] - 1]) if kinds.shape[0] else 0
    # Fill what a last two-frame unit could not with single-frame pure ACKs.
    filler = next(i for i, k in enumerate(KINDS) if k.name == "tcp4-ack")
    kinds = np.concatenate([kinds, np.full(frames - used, filler, dtype=kinds.dtype)])
    starts = np.cumsum(per_unit[kinds]) - per_unit[kinds]
    return kinds.astype(np.int64), starts


def _chunk(
    ctx: Ctx, frames: int, first_frame: int, rate: float, tally: Tally, exclude: frozenset[str]
) -> tuple[list[tuple[U8, I64]], I64]:
    """Build one chunk: the row groups with their positions, and every frame's length."""
    kinds, starts = _unit_kinds(ctx.rng, frames, exclude)
    groups: list[tuple[U8, I64]] = []
    caplen = np.zeros(frames, dtype=np.int64)
    for index, kind in enumerate(KINDS):
        units = np.nonzero(kinds == index)[0]
        if units.size == 0:
            continue
        built = kind.build(units.size, ctx)
        faults = inject(built, rate, ctx.rng)
        for offset, rows in enumerate(built.frames):
            positions = starts[units] + offset
            groups.append((rows, positions))
            caplen[positions] = rows.shape[1]
        tally.kinds[kind.name] += units.size * kind.frames
        tally.verified += units.size * len(built.slots)
        tally.unverified += units.size * built.unverified
        where = first_frame + starts[units[faults.unit]] + faults.verdict_frame + 1
        tally.faults += zip(
            where.tolist(),
            faults.proto,
            faults.cause,
            faults.value.tolist(),
            faults.expected.tolist(),
            strict=True,
        )
    return groups, caplen


def generate(
    path: Path,
    *,
    packets: int,
    fmt: str = "pcap",
    seed: int = 1,
    error_rate: float = 0.01,
    min_bytes: int = 0,
    chunk: int = 65536,
    exclude: tuple[str, ...] = (),
) -> dict[str, object]:
    """Write the capture and its truth files; returns the truth summary (also in the JSON).

    With `min_bytes`, chunks are added until the file holds at least that many bytes
    (`packets` is then ignored). `exclude` names kinds to leave out of the mix.
    """
    if fmt not in ("pcap", "pcapng"):
        raise ValueError(f"format must be pcap or pcapng, not {fmt!r}")
    names = {k.name for k in KINDS}
    if not set(exclude) <= names - {"tcp4-ack"}:
        raise ValueError(f"can exclude only these kinds: {sorted(names - {'tcp4-ack'})}")
    rng = np.random.default_rng(seed)
    ctx = Ctx(rng=rng, pool=np.frombuffer(rng.bytes(POOL_BYTES), dtype=np.uint8))
    tally = Tally()
    clock_us = TS_START_US
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as sink:
        head = pcap_header() if fmt == "pcap" else pcapng_header()
        sink.write(head)
        tally.bytes = len(head)
        while (tally.bytes < min_bytes) if min_bytes else (tally.frames < packets):
            n = chunk if min_bytes else min(chunk, packets - tally.frames)
            ctx.clock_ms = (clock_us - TS_START_US) // 1000
            groups, caplen = _chunk(ctx, n, tally.frames, error_rate, tally, frozenset(exclude))
            # About 1.5 µs between frames: a busy 10G link.
            ts_us = clock_us + np.cumsum(ctx.rng.integers(0, 4, n))
            clock_us = int(ts_us[-1])
            tally.bytes += write_chunk(sink, fmt, groups, caplen, ts_us)
            tally.frames += n
    tally.faults.sort()
    return _write_truth(path, fmt, seed, error_rate, tally)


def _write_truth(path: Path, fmt: str, seed: int, rate: float, tally: Tally) -> dict[str, object]:
    with truth_csv(path).open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["frame", "proto", "depth", "cause", "value", "expected"])
        for frame, proto, cause, value, expected in tally.faults:
            writer.writerow([frame, proto, 0, cause, value, expected])
    bad = len(tally.faults)
    summary: dict[str, object] = {
        "capture": path.name,
        "format": fmt,
        "seed": seed,
        "error_rate": rate,
        "frames": tally.frames,
        "bytes": tally.bytes,
        "kinds": dict(sorted(tally.kinds.items())),
        "checksums": {
            "good": tally.verified - bad,
            "bad": bad,
            "unverified": tally.unverified,
            "not-present": 0,
            "illegal": 0,
        },
        "faults_by_cause": dict(sorted(Counter(f[2] for f in tally.faults).items())),
        "faults_by_proto": dict(sorted(Counter(f[1] for f in tally.faults).items())),
        "truth_csv": truth_csv(path).name,
    }
    truth_json(path).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def truth_csv(capture: Path) -> Path:
    """Where the per-fault truth of `capture` is written."""
    return capture.with_name(capture.name + ".truth.csv")


def truth_json(capture: Path) -> Path:
    """Where the truth summary of `capture` is written."""
    return capture.with_name(capture.name + ".truth.json")


def read_truth(capture: Path) -> set[tuple[int, str, int, str]]:
    """The injected faults of `capture` as {(frame, proto, depth, cause)}."""
    with truth_csv(capture).open(newline="") as src:
        return {
            (int(r["frame"]), r["proto"], int(r["depth"]), r["cause"]) for r in csv.DictReader(src)
        }


def average_record_bytes(fmt: str) -> float:
    """Rough bytes per frame of the default mix (for sizing a capture by bytes)."""
    sizes = np.array([1514, 66, 60, 1518, 1514, 86, 100], dtype=np.int64)
    return float(record_sizes(fmt, sizes).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=1_000_000, help="frames to write")
    parser.add_argument(
        "--min-bytes", type=float, default=0, help="write until the file is this big"
    )
    parser.add_argument("--format", choices=("pcap", "pcapng"), default="pcap")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--error-rate", type=float, default=0.01)
    parser.add_argument("--chunk", type=int, default=65536, help="frames built at a time")
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="KIND", help="leave a kind out"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    summary = generate(
        args.output,
        packets=args.packets,
        fmt=args.format,
        seed=args.seed,
        error_rate=args.error_rate,
        min_bytes=int(args.min_bytes),
        chunk=args.chunk,
        exclude=tuple(args.exclude),
    )
    took = time.perf_counter() - start
    print(
        f"{args.output}: {summary['frames']} frames, {int(summary['bytes']) / 1e6:.1f} MB, "  # type: ignore[call-overload]
        f"{summary['checksums']['bad']} faults, {took:.1f} s",  # type: ignore[index]
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
