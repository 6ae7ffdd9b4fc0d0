"""The check list itself: every check is catalogued, and each returns only its own code."""

from __future__ import annotations

from checks.tablekit import ACK, SYN, echo, make_tables, tcp
from wiredoctor.checks.codes import BY_SYMBOL, CODES
from wiredoctor.checks.context import build_context
from wiredoctor.checks.run import CHECKS, CheckOptions, run_checks
from wiredoctor.checksum.verdict import Cause, Proto, Status


def test_every_check_is_catalogued_once() -> None:
    assert len({c.code for c in CHECKS}) == len(CHECKS)
    for check in CHECKS:
        assert BY_SYMBOL[check.symbol].code == check.code
    # WD4xx are made by `diff`, not by the single-capture checks.
    assert {c.code for c in CHECKS} == {c.code for c in CODES if not c.code.startswith("WD4")}


def test_checks_return_only_their_own_code() -> None:
    rows = [
        tcp("10.0.0.1", "10.0.0.2", 1, 2, 10, 0, SYN),
        tcp("10.0.0.2", "10.0.0.1", 2, 1, 50, 99, SYN | ACK),
        echo("10.0.0.1", "10.0.0.2", 1, 1, 1472),
        {**echo("10.0.0.1", "10.0.0.2", 1, 2, 1600)},
    ]
    sums = [{"frame": 1, "proto": Proto.TCP, "status": Status.BAD, "cause": Cause.ZERO}]
    ctx = build_context(make_tables(rows, sums), CheckOptions())
    seen = set()
    for check in CHECKS:
        for finding in check.run(ctx):
            assert (finding.code, finding.symbol) == (check.code, check.symbol)
            assert finding.evidence.frames and all(1 <= n <= 4 for n in finding.evidence.frames)
            seen.add(finding.code)
    assert {"WD104", "WD201", "WD212", "WD302"} <= seen


def test_empty_tables_give_no_findings() -> None:
    assert run_checks(make_tables([]), CheckOptions()) == []
