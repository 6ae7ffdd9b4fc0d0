"""Running the checks: the explicit tuple of checks and `run_checks`.

Each check is data (its finding code and symbol) plus a function from the shared context to
findings. Always holds: checks run in the order listed; each returns only findings of its own
code; no Python loop runs per frame: the context and the TCP view read each table once in
small numba passes, and the checks work with numpy on the rows those passes listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wiredoctor.checks import checksums, icmp, link, stall, tcp
from wiredoctor.checks.context import CheckContext, build_context
from wiredoctor.checks.finding import Finding
from wiredoctor.checks.options import CheckOptions
from wiredoctor.tables import CaptureTables

__all__ = ["CHECKS", "Check", "CheckOptions", "run_checks"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One check: the finding it makes and the function that looks for it."""

    code: str
    symbol: str
    run: Callable[[CheckContext], list[Finding]]


CHECKS: tuple[Check, ...] = (
    Check(code="WD101", symbol="checksum-offload-partial", run=checksums.check_offload_partial),
    Check(code="WD102", symbol="checksum-off-by-one", run=checksums.check_off_by_one),
    Check(code="WD103", symbol="checksum-corrupt", run=checksums.check_corrupt),
    Check(code="WD104", symbol="checksum-zero", run=checksums.check_zero),
    Check(code="WD105", symbol="udp-zero-checksum-ipv6", run=checksums.check_udp_zero_ipv6),
    Check(code="WD106", symbol="snaplen-truncated", run=checksums.check_snaplen),
    Check(code="WD107", symbol="srv6-final-destination", run=checksums.check_final_destination),
    Check(code="WD108", symbol="segmentation-offload-frames", run=link.check_super_frames),
    Check(code="WD109", symbol="checksum-ffff-for-zero", run=checksums.check_ffff_for_zero),
    Check(code="WD201", symbol="syn-ack-mismatch", run=tcp.check_syn_ack),
    Check(code="WD202", symbol="tcp-retransmissions", run=tcp.check_retransmissions),
    Check(code="WD203", symbol="tcp-dup-acks", run=tcp.check_dup_acks),
    Check(code="WD204", symbol="tcp-zero-window", run=tcp.check_zero_window),
    Check(code="WD205", symbol="full-size-segment-stall", run=stall.check_full_size_stall),
    Check(code="WD210", symbol="ping-size-threshold", run=icmp.check_ping_sweep),
    Check(code="WD211", symbol="icmp-too-big", run=icmp.check_too_big),
    Check(code="WD212", symbol="icmp-echo-unanswered", run=icmp.check_unanswered_echo),
    Check(code="WD301", symbol="ethernet-trailer", run=link.check_trailer),
    Check(code="WD302", symbol="over-mtu-frame", run=link.check_over_mtu),
    Check(code="WD303", symbol="nonzero-padding", run=link.check_nonzero_padding),
)


def run_checks(tables: CaptureTables, options: CheckOptions | None = None) -> list[Finding]:
    """Every check over one capture's tables, findings in the order of `CHECKS`."""
    ctx = build_context(tables, options or CheckOptions())
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check.run(ctx))
    return findings
