"""From a path to verified tables: open the capture, run the fast verifier, keep the seams.

Always holds: the tables returned are exactly what the reference decoders would produce
(the differential tests hold both speeds to that); reader warnings are kept, not printed.
"""

from __future__ import annotations

from wiredoctor.capture.open import open_capture
from wiredoctor.fast.verify import verify_batches
from wiredoctor.tables import CaptureTables


def load_capture(path: str, index: int = 0) -> CaptureTables:
    """Read and verify one capture with the fast path; `index` numbers it among the inputs."""
    source = open_capture(path)
    with source:
        frames, checksums = verify_batches(source.batches(), capture_index=index)
        linktypes = sorted({int(x) for x in frames["linktype"]})

        def read_frame(frame: int) -> bytes:
            row = frames[frame - 1]
            return source.read_frame(int(row["file_off"]), int(row["caplen"]))

        return CaptureTables(
            path=path,
            index=index,
            format=source.format,
            linktypes=linktypes,
            frames=frames,
            checksums=checksums,
            warnings=list(source.warnings),
            read_frame=read_frame,
        )
