"""Checksum repair: write a copy of a capture with offload artefacts (or all wrong checksums)
put right and, on request, Ethernet trailers removed."""

from wiredoctor.fixer.repair import (
    FieldChange,
    FixReport,
    Occurrence,
    TrailerCut,
    fix_capture,
    fix_frame,
    occurrences,
)

__all__ = [
    "FieldChange",
    "FixReport",
    "Occurrence",
    "TrailerCut",
    "fix_capture",
    "fix_frame",
    "occurrences",
]
