"""Hostile input: arbitrary bytes with arbitrary lengths never crash the kernels, never read
outside the frame, and still give the reference path's tables.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fast.compare import both_paths, differences
from fast.frames import batch
from wiredoctor.capture.record import Record

LINKTYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147]


@st.composite
def hostile_record(draw: st.DrawFn) -> Record:
    data = draw(st.binary(max_size=160))
    caplen = draw(st.integers(0, len(data)))
    return Record(
        index=1,
        ts_ns=0,
        caplen=caplen,
        wirelen=draw(st.integers(0, 70_000)),
        linktype=draw(st.sampled_from(LINKTYPES)),
        data=data[:caplen],
    )


@settings(max_examples=400, deadline=None)
@given(hostile_record())
def test_random_bytes_match_reference(record: Record) -> None:
    fast, ref = both_paths([batch([record])])
    found = differences(fast, ref)
    assert not found, "\n".join(found)


@pytest.mark.slow
def test_no_read_outside_a_frame_under_boundscheck(tmp_path: Path) -> None:
    # A fresh cache directory: the kernels compile again with numba's bounds checks on, and
    # each frame sits alone in its buffer, so a read past its bytes raises IndexError.
    tests = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    env.update(
        NUMBA_BOUNDSCHECK="1",
        NUMBA_CACHE_DIR=str(tmp_path / "numba"),
        PYTHONPATH=os.pathsep.join([str(tests), env.get("PYTHONPATH", "")]),
    )
    done = subprocess.run(
        [sys.executable, str(tests / "fast" / "hostile_run.py"), "3000"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "3000"
