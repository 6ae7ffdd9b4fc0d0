"""The optimised checks give exactly the findings of the plain whole-column reference kept in
`slowchecks`: symbols, messages, facts and every evidence frame, on generated mixed tables and
on every capture of the shared corpus, with the table passes run by the numba kernels and by
their numpy twins (`checks.passes` chooses by size; here each speed is forced in turn)."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.mixedtables import mixed_tables
from checks.slowchecks.run import run_checks as reference_checks
from wiredoctor.checks import passes
from wiredoctor.checks.context import build_context
from wiredoctor.checks.options import CheckOptions
from wiredoctor.checks.run import run_checks
from wiredoctor.checks.tcpflows import tcp_view
from wiredoctor.pipeline import load_capture

PCAPS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "pcaps"

NEVER = 1 << 62


@pytest.fixture(params=["numba", "numpy"])
def speed(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Force every table pass onto one speed, whatever the table's size."""
    name: str = request.param
    monkeypatch.setattr(passes, "KERNEL_ROWS", 0 if name == "numba" else NEVER)
    return name


@pytest.mark.parametrize("seed", range(6))
def test_optimised_checks_equal_the_reference(seed: int, speed: str) -> None:
    tables = mixed_tables(seed)
    for options in (CheckOptions(), CheckOptions(mtu=1400, flow_limit=3, sample_limit=2)):
        want = reference_checks(tables, options)
        got = run_checks(tables, options)
        assert [f.symbol for f in got] == [f.symbol for f in want]
        for g, w in zip(got, want, strict=True):
            assert g.to_json() == w.to_json(), g.symbol
    symbols = {f.symbol for f in want}
    # The generated capture exercises nearly every check, so equality means something.
    assert len(symbols) >= 15, sorted(symbols)


def test_more_flows_than_the_first_flow_table_holds(speed: str) -> None:
    # Over 32768 directional flows: the kernel's flow pass starts again with a larger table.
    tables = mixed_tables(7, n=60_000, ports=50_000)
    got = run_checks(tables)
    assert [f.to_json() for f in got] == [f.to_json() for f in reference_checks(tables)]
    assert tcp_view(build_context(tables, CheckOptions())).n_flows > 32768


@pytest.mark.corpus
def test_optimised_checks_equal_the_reference_on_the_corpus(speed: str) -> None:
    if not PCAPS.is_dir():
        pytest.skip(f"shared corpus not found at {PCAPS}")
    compared = 0
    for path in sorted(PCAPS.iterdir()):
        tables = load_capture(str(path))
        try:
            got = [f.to_json() for f in run_checks(tables)]
            assert got == [f.to_json() for f in reference_checks(tables)], path.name
        finally:
            if tables.close is not None:
                tables.close()
        compared += 1
    assert compared > 100
