"""What the pcapng format fixes, shared by the block walkers (plain Python and numba).

Blocks: draft-ietf-opsawg-pcapng §3.1 (type, total length, body, total length again);
Section Header Block §4.1, Interface Description Block §4.2, Enhanced Packet Block §4.3,
Simple Packet Block §4.4, the obsolete Packet Block Appendix A. Always holds: this module
imports nothing heavy, so the small-capture path can use it without numba.
"""

from __future__ import annotations

MAX_BLOCK = 64 << 20
"""Packet blocks larger than this are treated as lies (bounds one window)."""

BLOCK_SHB = 0x0A0D0D0A
BLOCK_IDB = 1
BLOCK_OPB = 2
BLOCK_SPB = 3
BLOCK_EPB = 6

OPT_END = 0
OPT_COMMENT = 1
OPT_FLAGS = 2  # epb_flags (§4.3.1) / pack_flags (Appendix A): same layout

# Walker result codes beyond walk.Status (0 window done, 1 partial, 2 full).
CODE_SHB = 10  # a section header starts at pos
CODE_IDB = 11  # an interface description block lies wholly in the window at pos
CODE_SHORT_BLOCK = 12  # arg: block length below 12
CODE_HUGE_BLOCK = 13  # arg: block length above MAX_BLOCK
CODE_NO_INTERFACE = 14  # arg: interface id, arg2: interfaces in the section
CODE_BAD_PACKET = 15  # arg: captured length, arg2: block length (data does not fit)
