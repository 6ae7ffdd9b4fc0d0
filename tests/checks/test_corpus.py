"""The checks on real captures from the shared corpus: trailer kinds named, TCP analysis in line
with tshark's expert flags. Skipped when the corpus is absent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from wiredoctor.capture.open import open_capture
from wiredoctor.checks.run import CheckOptions, run_checks
from wiredoctor.tables import CaptureTables

pytestmark = pytest.mark.corpus

PCAPS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "pcaps"


@contextmanager
def tables(name: str) -> Iterator[CaptureTables]:
    """The capture's tables with a frame reader that stays open while they are used."""
    path = PCAPS / name
    if not path.exists():
        pytest.skip(f"shared corpus not found at {PCAPS}")
    from wiredoctor.fast.verify import verify_batches

    with open_capture(str(path)) as source:
        frames, checksums = verify_batches(source.batches(), capture_index=0)

        def read(n: int) -> bytes:
            row = frames[n - 1]
            return source.read_frame(int(row["file_off"]), int(row["caplen"]))

        yield CaptureTables(path=str(path), index=0, format=source.format, linktypes=[],
                            frames=frames, checksums=checksums, read_frame=read)  # fmt: skip


def findings(name: str) -> dict[str, object]:
    with tables(name) as t:
        return {f.symbol: f for f in run_checks(t, CheckOptions())}


@pytest.mark.parametrize(
    ("name", "kind", "count"),
    [("wireshark-wiki__metamako_trailer.pcap", "metamako", 111),
     ("wireshark-wiki__exablaze_trailer.pcap", "exablaze", 24)],
)  # fmt: skip
def test_vendor_trailers_are_named(name: str, kind: str, count: int) -> None:
    f = findings(name)["ethernet-trailer"]
    assert f.facts["kinds"] == {kind: count}  # type: ignore[attr-defined]
    # 16 trailer bytes, then the frame's own 4-byte FCS (not counted as trailer).
    assert f.facts["lengths"] == {"16": count}  # type: ignore[attr-defined]
    sample = f.facts["sample"][0]  # type: ignore[attr-defined]
    assert sample["kind"] == kind and "port" in sample and "seconds" in sample


def test_duplicated_ssh_packets_match_tshark_counts() -> None:
    # tshark 4.0 flags 166 retransmissions and 114 duplicate ACKs in this capture.
    out = findings("zeek__ssh-dups.pcap")
    assert out["tcp-retransmissions"].facts["count"] == 166  # type: ignore[attr-defined]
    assert out["tcp-dup-acks"].facts["count"] == 114  # type: ignore[attr-defined]


def test_fast_retransmit_capture_matches_tshark_counts() -> None:
    out = findings("zeek__retransmit-fast009.pcap")
    assert out["tcp-retransmissions"].facts["count"] == 3  # type: ignore[attr-defined]
    assert out["tcp-dup-acks"].facts["count"] == 5  # type: ignore[attr-defined]
