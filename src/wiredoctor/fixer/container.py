"""pcap and pcapng files as blocks to patch: where each frame's bytes and length fields are.

Repairing a capture must leave every byte it does not mean to change as it was — file
header, timestamps, interface blocks, options, comments, unknown blocks. So the file is not
re-encoded from records: it is kept as bytes, frames are located inside it, checksum fields
are patched in place, and only a frame whose length changes (a stripped trailer) has its
record header or block rebuilt around the same options.

Formats: pcap (both byte orders, µs, ns and the modified 24-byte-record variant; magics as
in capture.detect) and pcapng (draft-ietf-opsawg-pcapng §4: SHB, IDB, EPB, SPB and the
obsolete Packet Block; every other block is copied untouched).

Always holds: `render()` with no patches returns the input bytes exactly; bytes after the
last whole record (a file cut short) are kept as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from wiredoctor.capture.detect import PCAP_MAGICS, PCAPNG_SHB

_BYTE_ORDER_MAGIC = 0x1A2B3C4D

Order = Literal["little", "big"]


class SlotKind(IntEnum):
    """What holds a frame in the file."""

    PCAP = 0
    EPB = 6
    SPB = 3
    PB = 2


@dataclass(slots=True, kw_only=True)
class Slot:
    """One frame's place in the file."""

    index: int
    """1-based frame number."""
    kind: SlotKind
    """The record or block type."""
    block_off: int
    """Offset of the pcap record header or the pcapng block."""
    block_len: int
    """Length of the record header + data, or of the whole block."""
    data_off: int
    """Offset of the frame's first byte."""
    caplen: int
    """Captured bytes."""
    wirelen: int
    """Original length the file states."""
    linktype: int
    """LINKTYPE_* of the frame's interface."""
    big_endian: bool
    """Byte order of the record header / section."""
    section: int
    """Index of the pcapng section (into `Container.sections`), 0 for pcap."""
    strip: int = 0
    """Bytes to cut from the end of the frame when rendering."""


@dataclass(slots=True, kw_only=True)
class Container:
    """A capture file held as bytes, with its frames located."""

    format: str
    """`pcap` or `pcapng`."""
    buf: bytearray
    """The file's bytes (patched in place)."""
    slots: list[Slot]
    """Every frame, in file order."""
    sections: list[int]
    """pcapng: offset of each Section Header Block."""

    def frame(self, slot: Slot) -> bytes:
        """The frame's current bytes."""
        return bytes(self.buf[slot.data_off : slot.data_off + slot.caplen])

    def patch(self, slot: Slot, offset: int, new: bytes) -> None:
        """Overwrite bytes of a frame at `offset` (relative to the frame's first byte)."""
        start = slot.data_off + offset
        self.buf[start : start + len(new)] = new

    def render(self) -> bytes:
        """The file as it now is, with stripped frames' headers and blocks rebuilt."""
        if not any(slot.strip for slot in self.slots):
            return bytes(self.buf)
        out = bytearray()
        pos = 0
        shrink: dict[int, int] = {}
        for slot in self.slots:
            if not slot.strip:
                continue
            out += self.buf[pos : slot.block_off]
            block = self._rebuild(slot)
            shrink[slot.section] = shrink.get(slot.section, 0) + slot.block_len - len(block)
            out += block
            pos = slot.block_off + slot.block_len
        out += self.buf[pos:]
        if self.format == "pcapng":
            self._fix_section_lengths(out, shrink)
        return bytes(out)

    def _rebuild(self, slot: Slot) -> bytes:
        order: Order = "big" if slot.big_endian else "little"
        caplen = slot.caplen - slot.strip
        wirelen = max(slot.wirelen - slot.strip, caplen)
        data = bytes(self.buf[slot.data_off : slot.data_off + caplen])
        old = self.buf[slot.block_off : slot.block_off + slot.block_len]
        if slot.kind == SlotKind.PCAP:
            header_len = slot.data_off - slot.block_off
            header = bytearray(old[:header_len])
            header[8:12] = caplen.to_bytes(4, order)
            header[12:16] = wirelen.to_bytes(4, order)
            return bytes(header) + data
        fixed = slot.data_off - slot.block_off
        old_padded = (slot.caplen + 3) & ~3
        # A Simple Packet Block has no options; the others keep theirs byte for byte.
        options = b"" if slot.kind == SlotKind.SPB else bytes(old[fixed + old_padded : -4])
        padded = data + b"\x00" * (((caplen + 3) & ~3) - caplen)
        head = bytearray(old[:fixed])
        if slot.kind == SlotKind.SPB:
            head[8:12] = wirelen.to_bytes(4, order)
        else:
            head[20:24] = caplen.to_bytes(4, order)
            head[24:28] = wirelen.to_bytes(4, order)
        total = len(head) + len(padded) + len(options) + 4
        head[4:8] = total.to_bytes(4, order)
        return bytes(head) + padded + bytes(options) + total.to_bytes(4, order)

    def _fix_section_lengths(self, out: bytearray, shrink: dict[int, int]) -> None:
        # The SHB section length (§4.1) counts the bytes after the SHB; -1 means unknown.
        moved = 0
        for index, offset in enumerate(self.sections):
            at = offset - moved
            big = int.from_bytes(out[at + 8 : at + 12], "big") == _BYTE_ORDER_MAGIC
            order: Order = "big" if big else "little"
            length = int.from_bytes(out[at + 16 : at + 24], order, signed=True)
            cut = shrink.get(index, 0)
            if length >= 0 and cut:
                out[at + 16 : at + 24] = (length - cut).to_bytes(8, order, signed=True)
            moved += cut


def _pcap(buf: bytearray) -> Container | None:
    flavour = PCAP_MAGICS.get(bytes(buf[:4]))
    if flavour is None or len(buf) < 24:
        return None
    order: Order = "big" if flavour.big_endian else "little"
    # The link type lives in the low 16 bits; the upper bits carry FCS flags.
    linktype = int.from_bytes(buf[20:24], order) & 0xFFFF
    header_len = 24 if flavour.extended_header else 16
    slots: list[Slot] = []
    pos = 24
    while pos + header_len <= len(buf):
        caplen = int.from_bytes(buf[pos + 8 : pos + 12], order)
        wirelen = int.from_bytes(buf[pos + 12 : pos + 16], order)
        if pos + header_len + caplen > len(buf):
            break
        slots.append(
            Slot(
                index=len(slots) + 1,
                kind=SlotKind.PCAP,
                block_off=pos,
                block_len=header_len + caplen,
                data_off=pos + header_len,
                caplen=caplen,
                wirelen=wirelen,
                linktype=linktype,
                big_endian=flavour.big_endian,
                section=0,
            )
        )
        pos += header_len + caplen
    return Container(format="pcap", buf=buf, slots=slots, sections=[])


def _pcapng(buf: bytearray) -> Container | None:
    if bytes(buf[:4]) != PCAPNG_SHB:
        return None
    slots: list[Slot] = []
    sections: list[int] = []
    interfaces: list[tuple[int, int]] = []  # (linktype, snaplen) per interface id
    order: Order = "little"
    pos = 0
    while pos + 12 <= len(buf):
        if bytes(buf[pos : pos + 4]) == PCAPNG_SHB:
            magic = bytes(buf[pos + 8 : pos + 12])
            order = "big" if int.from_bytes(magic, "big") == _BYTE_ORDER_MAGIC else "little"
            sections.append(pos)
            interfaces = []
        block_type = int.from_bytes(buf[pos : pos + 4], order)
        length = int.from_bytes(buf[pos + 4 : pos + 8], order)
        if length < 12 or length % 4 or pos + length > len(buf):
            break
        big = order == "big"
        if block_type == 1 and length >= 20:
            linktype = int.from_bytes(buf[pos + 8 : pos + 10], order)
            snaplen = int.from_bytes(buf[pos + 12 : pos + 16], order)
            interfaces.append((linktype, snaplen))
        elif block_type in (SlotKind.EPB, SlotKind.PB) and length >= 32:
            if block_type == SlotKind.EPB:
                iface = int.from_bytes(buf[pos + 8 : pos + 12], order)
            else:
                iface = int.from_bytes(buf[pos + 8 : pos + 10], order)
            caplen = int.from_bytes(buf[pos + 20 : pos + 24], order)
            wirelen = int.from_bytes(buf[pos + 24 : pos + 28], order)
            if iface < len(interfaces) and 28 + caplen + 4 <= length:
                slots.append(
                    Slot(
                        index=len(slots) + 1,
                        kind=SlotKind(block_type),
                        block_off=pos,
                        block_len=length,
                        data_off=pos + 28,
                        caplen=caplen,
                        wirelen=wirelen,
                        linktype=interfaces[iface][0],
                        big_endian=big,
                        section=len(sections) - 1,
                    )
                )
        elif block_type == SlotKind.SPB and length >= 16 and interfaces:
            wirelen = int.from_bytes(buf[pos + 8 : pos + 12], order)
            room = length - 16
            snaplen = interfaces[0][1] or wirelen
            caplen = min(wirelen, room, snaplen)
            slots.append(
                Slot(
                    index=len(slots) + 1,
                    kind=SlotKind.SPB,
                    block_off=pos,
                    block_len=length,
                    data_off=pos + 12,
                    caplen=caplen,
                    wirelen=wirelen,
                    linktype=interfaces[0][0],
                    big_endian=big,
                    section=len(sections) - 1,
                )
            )
        pos += length
    return Container(format="pcapng", buf=buf, slots=slots, sections=sections)


def load_container(raw: bytes) -> Container | None:
    """The capture in `raw` (uncompressed pcap or pcapng) with its frames; None otherwise."""
    buf = bytearray(raw)
    return _pcap(buf) or _pcapng(buf)
