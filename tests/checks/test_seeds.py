"""The checks on the five real cases as their reports show them (text, read by the reference
decoders). Skipped when the shared seeds are absent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wiredoctor.capture.open import open_capture
from wiredoctor.checks.run import CheckOptions, run_checks
from wiredoctor.tables import CaptureTables

pytestmark = pytest.mark.corpus

SEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds"


def findings(stem: str) -> dict[str, Any]:
    matches = sorted(SEEDS.glob(f"{stem}_*.txt"))
    if not matches:
        pytest.skip(f"seed {stem} not found in {SEEDS}")
    path = matches[0]
    from wiredoctor.decode.verify import verify_records

    with open_capture(str(path)) as source:
        frames, checksums = verify_records(source.records(), 0)
    tables = CaptureTables(path=str(path), index=0, format="text", linktypes=[],
                           frames=frames, checksums=checksums)  # fmt: skip
    return {f.symbol: f for f in run_checks(tables, CheckOptions())}


def test_seed_000_syn_ack_mismatch_and_partial_sums() -> None:
    out = findings("000")
    (pair,) = out["syn-ack-mismatch"].facts["pairs"]
    assert (pair["expected_ack"], pair["ack"]) == (2650163744, 3098447117)
    assert "10.0.0.240" in out["checksum-offload-partial"].facts["capture_hosts"]


def test_seed_002_fin_retransmissions() -> None:
    out = findings("002")
    retrans = out["tcp-retransmissions"].facts
    assert (retrans["count"], retrans["fin"], retrans["unanswered_fin"]) == (5, 5, 1)
    assert retrans["exponential_backoff"] is True
    assert out["tcp-dup-acks"].facts["count"] == 1
    assert "tcp-zero-window" not in out


def test_seed_004_off_by_one() -> None:
    out = findings("004")
    assert out["checksum-off-by-one"].facts["count"] == 2
