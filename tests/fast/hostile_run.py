"""Run by test_hostile in a subprocess (with NUMBA_BOUNDSCHECK=1): verify mutated frames, each
in a buffer of exactly its own bytes, so any read outside a frame raises IndexError.

Prints the number of frames verified; exits non-zero on any exception.
"""

from __future__ import annotations

import sys

import numpy as np

from fast import frames as fb
from wiredoctor.capture.record import LinkType, Record
from wiredoctor.fast.verify import verify_batches


def seeds() -> list[tuple[int, bytes]]:
    """Valid frames of many shapes to mutate."""
    tcp4 = fb.tcp(fb.V4_A, fb.V4_B, b"payload", options=bytes.fromhex("020405b40402080a0000"))
    udp6 = fb.udp(fb.V6_A, fb.V6_B, b"x" * 30)
    inner = fb.ipv4(fb.tcp(fb.V4_A, fb.V4_B, b"in"))
    srh = fb.routing(6, 4, 1, [fb.V6_B, fb.V6_A]) + fb.tcp(
        fb.V6_A, fb.V6_B, b"s", final_dst=fb.V6_B
    )
    return [
        (LinkType.ETHERNET, fb.ethernet(fb.ipv4(tcp4), vlans=[5, 6])),
        (LinkType.ETHERNET, fb.ethernet(fb.ipv6(udp6, next_header=17), 0x86DD)),
        (LinkType.ETHERNET, fb.ethernet(fb.ipv4(fb.gre(inner, checksum=True, key=1), proto=47))),
        (
            LinkType.ETHERNET,
            fb.ethernet(
                fb.ipv4(
                    fb.udp(fb.V4_A, fb.V4_B, fb.vxlan(fb.ethernet(inner)), dport=4789), proto=17
                )
            ),
        ),
        (
            LinkType.ETHERNET,
            fb.ethernet(
                fb.ipv6(
                    fb.udp(fb.V6_A, fb.V6_B, fb.geneve(inner, 0x0800, b"\x01" * 8), dport=6081),
                    next_header=17,
                ),
                0x86DD,
            ),
        ),
        (LinkType.LINUX_SLL, fb.sll(fb.ipv4(fb.icmp_echo(payload=b"p" * 16), proto=1))),
        (LinkType.LINUX_SLL2, fb.sll2(fb.ipv6(srh, next_header=43), 0x86DD)),
        (LinkType.NULL, fb.null(fb.ipv4(inner, proto=4))),
        (
            LinkType.RAW,
            fb.ipv4(
                fb.ipv4(fb.udplite(fb.V4_A, fb.V4_B, b"l", coverage=8), proto=136),
                proto=4,
                options=bytes([131, 7, 4]) + fb.V4_B,
            ),
        ),
    ]


def main(count: int) -> int:
    rng = np.random.default_rng(20240601)
    base = seeds()
    batches = []
    for index in range(1, count + 1):
        linktype, data = base[int(rng.integers(len(base)))]
        buf = bytearray(data)
        for _ in range(int(rng.integers(0, 6))):
            # Lengths, offsets and flags sit in the first bytes: damage there most.
            at = int(rng.integers(0, min(len(buf), 96)))
            buf[at] = int(rng.integers(0, 256))
        cut = int(rng.integers(0, len(buf) + 1)) if rng.random() < 0.3 else len(buf)
        wire = int(rng.integers(0, 2 * len(buf) + 1)) if rng.random() < 0.2 else len(buf)
        record = Record(
            index=index,
            ts_ns=index,
            caplen=cut,
            wirelen=wire,
            linktype=int(linktype),
            data=bytes(buf[:cut]),
        )
        batches.append(fb.batch([record], index))
    frames, _ = verify_batches(batches)
    print(frames.shape[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
