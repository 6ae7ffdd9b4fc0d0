"""The fast path equals the reference path, column by column, on every frame.

Over the shared capture corpus (every capture, skipped with the reason when the corpus is
absent) and over generated frames: link layers, VLAN stacks, IPv4 options, IPv6 extension
chains, tunnels, transports, then damage (corrupted checksums, truncation, lying lengths).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from fast.compare import both_paths, differences
from fast.frames import batch
from fast.stacks import records
from wiredoctor.capture.open import open_capture
from wiredoctor.capture.record import Record
from wiredoctor.errors import WiredoctorError

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "pcaps"


def _corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.iterdir() if p.is_file())


@pytest.mark.corpus
def test_corpus_fast_equals_reference() -> None:
    files = _corpus_files()
    if not files:
        pytest.skip(f"shared capture corpus not found at {CORPUS}")
    compared = 0
    failures: list[str] = []
    for path in files:
        try:
            with open_capture(str(path)) as source:
                batches = list(source.batches())
                fast, ref = both_paths(batches)
        except WiredoctorError:
            continue  # captures the readers refuse are the readers' tests' business
        compared += int(fast[0].shape[0])
        found = differences(fast, ref)
        if found:
            failures.append(f"{path.name}:\n" + "\n".join(found[:3]))
    assert not failures, "\n".join(failures[:5])
    assert compared > 20_000  # the corpus holds 23,960 frames


def _check(recs: list[Record]) -> None:
    fast, ref = both_paths([batch(recs)])
    found = differences(fast, ref)
    assert not found, "\n".join(found)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_generated_frames_fast_equals_reference(recs: list[Record]) -> None:
    _check(recs)


def test_batches_split_anywhere_keep_rows_in_order() -> None:
    # Fragments and ordinary frames across three batches: the fallback keeps its state.
    import fast.frames as fb

    payload = bytes(range(256)) * 6
    segment = fb.udp(fb.V4_A, fb.V4_B, payload)
    first = fb.ipv4(segment[:800], proto=17, flags=0x1, frag=0, ident=99)
    second = fb.ipv4(segment[800:], proto=17, flags=0x0, frag=100, ident=99)
    plain = fb.ethernet(fb.ipv4(fb.tcp(fb.V4_A, fb.V4_B, b"data")))
    frames = [plain, fb.ethernet(first), plain, plain, fb.ethernet(second), plain]
    recs = [fb.record(f, i + 1) for i, f in enumerate(frames)]
    batches = [batch(recs[0:2], 1), batch(recs[2:5], 3), batch(recs[5:], 6)]
    fast, ref = both_paths(batches)
    assert not differences(fast, ref)
    # The datagram's UDP verdict sits on the frame that completed it.
    udp_rows = fast[1][fast[1]["proto"] == 3]
    assert [int(r["frame"]) for r in udp_rows] == [2, 5]
    assert [int(r["status"]) for r in udp_rows] == [2, 0]
