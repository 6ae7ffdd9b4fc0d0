"""Memory stays bounded: a multi-hundred-MB gzip capture read through a spool and windows."""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from capture.packing import PcapRecord, frame, pcap_header, pcap_record

LIMIT_MB = 300


@pytest.mark.slow
def test_large_gzip_capture_streams_within_the_memory_limit(tmp_path: Path) -> None:
    chunk = b"".join(
        pcap_record(PcapRecord(1_700_000_000 + i, i, frame(i, 40 + (i * 7) % 1460)))
        for i in range(200)
    )
    repeats = 2000  # about 300 MB decompressed
    path = tmp_path / "big.pcap.gz"
    packer = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    with path.open("wb") as out:
        out.write(packer.compress(pcap_header(snaplen=65535)))
        for _ in range(repeats):
            out.write(packer.compress(chunk))
        out.write(packer.flush())
    expected_bytes = 24 + len(chunk) * repeats
    assert expected_bytes > 250_000_000
    code = (
        "import resource, sys\n"
        "from wiredoctor.capture.open import open_capture\n"
        "n = 0\n"
        "last = 0\n"
        "with open_capture(sys.argv[1]) as source:\n"
        "    for batch in source.batches():\n"
        "        n += len(batch)\n"
        "        last = int(batch.file_off[-1] + batch.caplen[-1])\n"
        "    assert source.warnings == [], source.warnings\n"
        "print(n, last, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    count, end, peak_mb = (int(x) for x in done.stdout.split())
    assert count == 200 * repeats
    assert end == expected_bytes
    assert peak_mb <= LIMIT_MB, f"peak RSS {peak_mb} MB"
    print(f"records {count}, stream {end} bytes, peak RSS {peak_mb} MB")
