"""The plain-Python record walkers (small captures) equal the numba walkers (large captures):
the same batches with the same columns, the same warnings and the same input errors, on every
capture of the shared corpus and on generated files (both byte orders, µs and ns, the modified
pcap format, several pcapng sections and interfaces, odd and lying blocks, cut short, mutated),
read through windows small enough to split records; and the walk functions themselves agree
on arbitrary bytes."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.packing import (
    PCAP_KUZNETZOV,
    PCAP_NS,
    PCAP_US,
    PcapRecord,
    block,
    epb,
    idb,
    opb,
    option,
    pcap_file,
    shb,
    spb,
)
from wiredoctor import pipeline
from wiredoctor.capture import pcap_kernel, pcap_plain, pcapng_kernel, pcapng_plain, walk
from wiredoctor.capture.open import open_capture
from wiredoctor.capture.pcap import PcapWalker
from wiredoctor.capture.walk import Columns
from wiredoctor.errors import InputError

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "pcaps"
COLUMNS = ("data_off", "file_off", "caplen", "wirelen", "ts_ns", "linktype", "iface",
           "direction", "comment_off", "comment_len")  # fmt: skip
NEVER = 1 << 62

Outcome = tuple[Any, ...]


@contextmanager
def walker_forced(kernel: bool) -> Iterator[None]:
    """Every stream walked by the kernels (True) or in plain Python (False) meanwhile."""
    saved = walk.KERNEL_BYTES
    walk.KERNEL_BYTES = 0 if kernel else NEVER
    try:
        yield
    finally:
        walk.KERNEL_BYTES = saved


def read_all(path: Path, window: int, kernel: bool) -> Outcome:
    """What reading `path` gives with one walker: (batches, warnings) or the input error."""
    with walker_forced(kernel):
        return _read_all(path, window)


def _read_all(path: Path, window: int) -> Outcome:
    try:
        with open_capture(str(path)) as source:
            batches = [
                (batch.first_frame, {name: getattr(batch, name) for name in COLUMNS},
                 [batch.comment(row) for row in range(len(batch))])
                for batch in source.batches(window)
            ]  # fmt: skip
            return "read", batches, list(source.warnings)
    except InputError as error:
        return "error", str(error), error.offset


def assert_same_reading(path: Path, windows: tuple[int, ...]) -> int:
    """Both walkers read `path` alike through every window size; returns the frames read."""
    frames = 0
    for window in windows:
        kernel = read_all(path, window, True)
        plain = read_all(path, window, False)
        assert kernel[0] == plain[0], (path.name, window)
        if kernel[0] == "error":
            assert kernel == plain
            continue
        assert kernel[2] == plain[2], (path.name, window)  # warnings
        assert len(kernel[1]) == len(plain[1]), (path.name, window)
        for (k_first, k_cols, k_notes), (p_first, p_cols, p_notes) in zip(
            kernel[1], plain[1], strict=True
        ):
            assert k_first == p_first and k_notes == p_notes
            for name in COLUMNS:
                assert k_cols[name].dtype == p_cols[name].dtype, name
                assert np.array_equal(k_cols[name], p_cols[name]), (path.name, window, name)
        frames += sum(len(cols["caplen"]) for _, cols, _ in kernel[1])
    return frames


@pytest.mark.corpus
def test_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared capture corpus is absent ({CORPUS})")
    frames = 0
    files = sorted(CORPUS.iterdir())
    for path in files:
        frames += assert_same_reading(path, (64 << 20, 4096, 333))
    assert len(files) > 100 and frames > 3 * 20_000


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("walks")


def cut_and_mutate(data: bytes, draw: st.DrawFn) -> bytes:
    """The file as written, or cut short, or with a few bytes overwritten."""
    how = draw(st.sampled_from(["whole", "cut", "mutate"]))
    if how == "cut" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "mutate" and data:
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    return data


@st.composite
def pcap_files(draw: st.DrawFn) -> bytes:
    magic = draw(st.sampled_from([PCAP_US, PCAP_NS, PCAP_KUZNETZOV]))
    big = draw(st.booleans())
    records = [
        PcapRecord(
            seconds=draw(st.integers(0, 2**32 - 1)),
            fraction=draw(st.integers(0, 2**32 - 1)),
            data=draw(st.binary(max_size=70)),
            wirelen=draw(st.none() | st.integers(0, 2**32 - 1)),
            incl_len=draw(st.none() | st.sampled_from([0, 300_000, 2**26, 2**32 - 1])),
            pkt_type=draw(st.sampled_from([0, 1, 2, 3, 4, 5, 255])),
        )
        for _ in range(draw(st.integers(0, 8)))
    ]
    snaplen = draw(st.sampled_from([0, 96, 65535, 2**32 - 1]))
    return cut_and_mutate(pcap_file(records, big=big, magic=magic, snaplen=snaplen), draw)


@st.composite
def pcapng_files(draw: st.DrawFn) -> bytes:
    """Sections of interfaces and packet blocks, mostly valid, with odd and lying blocks."""
    big = draw(st.booleans())
    count = draw(st.sampled_from([0, 1, 1, 2, 3]))
    blocks = [shb(big=big)] + [interface(draw, big) for _ in range(count)]
    kinds = ["idb", "epb", "epb", "epb", "options", "options", "options", "opb", "spb", "shb",
             "other", "lie"]  # fmt: skip
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(kinds))
        # Mostly an interface the section describes, sometimes the one after the last.
        ifc = draw(st.sampled_from([*range(count)] * 4 + [count]))
        if kind == "shb":
            big = draw(st.booleans())
            blocks.append(shb(big=big, major=draw(st.sampled_from([1] * 7 + [2]))))
            count = draw(st.sampled_from([0, 1, 1, 2]))
            blocks += [interface(draw, big) for _ in range(count)]
        elif kind == "idb":
            blocks.append(interface(draw, big))
            count += 1
        elif kind == "epb":
            blocks.append(
                epb(
                    big=big,
                    interface=ifc,
                    units=draw(st.integers(0, 2**64 - 1)),
                    data=draw(st.binary(max_size=40)),
                    wirelen=draw(st.none() | st.integers(0, 2**32 - 1)),
                    flags=draw(st.none() | st.integers(0, 2**32 - 1)),
                    comment=draw(st.none() | st.binary(max_size=9)),
                    caplen=draw(st.sampled_from([None] * 5 + [0, 80])),
                )
            )
        elif kind == "options":
            blocks.append(epb_with_options(draw, big, ifc))
        elif kind == "opb":
            blocks.append(
                opb(
                    big=big,
                    interface=ifc,
                    units=draw(st.integers(0, 2**64 - 1)),
                    data=draw(st.binary(max_size=40)),
                    flags=draw(st.none() | st.integers(0, 2**32 - 1)),
                )
            )
        elif kind == "spb":
            data = draw(st.binary(max_size=40))
            blocks.append(spb(big=big, data=data, wirelen=draw(st.none() | st.integers(0, 99))))
        elif kind == "other":
            body = option(1, draw(st.binary(max_size=12)), big=big)
            blocks.append(block(draw(st.sampled_from([4, 5, 7, 0xBAD])), body, big=big))
        else:
            stated = draw(st.sampled_from([0, 11, 13, 16, 17, 24, 25, 28, 30, 2**30]))
            body = draw(st.binary(min_size=4, max_size=40))
            blocks.append(block(draw(st.sampled_from([1, 2, 3, 6, 9])), body, big=big,
                                stated_length=stated))  # fmt: skip
    data = b"".join(blocks)
    return cut_and_mutate(data, draw) if draw(st.integers(0, 2)) == 0 else data


def interface(draw: st.DrawFn, big: bool) -> bytes:
    return idb(
        big=big,
        linktype=draw(st.sampled_from([1, 101, 113, 65535])),
        snaplen=draw(st.sampled_from([0, 1, 20, 65535])),
        tsresol=draw(st.none() | st.integers(0, 255)),
        tsoffset=draw(st.none() | st.integers(-(2**63), 2**63 - 1)),
    )


def epb_with_options(draw: st.DrawFn, big: bool, ifc: int) -> bytes:
    """An EPB whose options repeat, end early, or overrun the block (§3.5, §4.3.1)."""
    data = draw(st.binary(max_size=12))
    fixed = struct.pack(">IIIII" if big else "<IIIII", ifc, 0, draw(st.integers(0, 9)),
                        len(data), len(data))  # fmt: skip
    options = b""
    for _ in range(draw(st.integers(0, 4))):
        code = draw(st.sampled_from([0, 1, 1, 2, 2, 3]))
        value = draw(st.binary(max_size=9))
        if code == 2 and draw(st.booleans()):
            value = struct.pack(">I" if big else "<I", draw(st.integers(0, 3)))
        options += option(code, value, big=big)
    if draw(st.booleans()):
        options += draw(st.binary(min_size=1, max_size=6))
    return block(6, fixed + data + b"\x00" * (-len(data) % 4) + options, big=big)


@settings(max_examples=150, deadline=None)
@given(pcap_files(), st.integers(17, 200))
def test_generated_pcap(scratch: Path, data: bytes, window: int) -> None:
    path = scratch / "gen.pcap"
    path.write_bytes(data)
    assert_same_reading(path, (64 << 20, window))


@settings(max_examples=200, deadline=None)
@given(pcapng_files(), st.integers(13, 300))
def test_generated_pcapng(scratch: Path, data: bytes, window: int) -> None:
    path = scratch / "gen.pcapng"
    path.write_bytes(data)
    assert_same_reading(path, (64 << 20, window))


def filled(columns: Columns, start: int, count: int) -> dict[str, list[int]]:
    return {
        name: getattr(columns, name)[start:count].tolist()
        for name in ("data_off", "caplen", "wirelen", "ts_ns", "linktype", "iface", "direction",
                     "comment_off", "comment_len")
    }  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.binary(min_size=0, max_size=400),
    st.integers(0, 60),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.sampled_from([0, 64, 2**32 - 1]),
    st.integers(1, 12),
)
def test_pcap_walk_functions_on_any_bytes(
    buf: bytes, pos: int, big: bool, ns: bool, extended: bool, snaplen: int, capacity: int
) -> None:
    array = np.frombuffer(bytearray(buf), dtype=np.uint8)
    results = []
    for walker in (pcap_kernel.walk_pcap, pcap_plain.walk_pcap):
        columns = Columns(capacity)
        columns.direction[:] = 7  # untouched rows must stay as they were, in both
        got = walker(array, pos, big, ns, extended, snaplen, columns.data_off, columns.caplen,
                     columns.wirelen, columns.ts_ns, columns.direction)  # fmt: skip
        count = got[0]
        cols = filled(columns, 0, count)
        results.append((tuple(int(x) for x in got), cols["data_off"], cols["caplen"],
                        cols["wirelen"], cols["ts_ns"], columns.direction.tolist()))  # fmt: skip
    assert results[0] == results[1]


@st.composite
def block_soup(draw: st.DrawFn) -> bytes:
    """Bytes that are mostly block headers of interesting types and lengths, then noise."""
    out = b""
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from([1, 2, 3, 6, 6, 0x0A0D0D0A, 0xBAD]))
        length = draw(st.integers(0, 60))
        order = ">" if draw(st.booleans()) else "<"
        out += struct.pack(order + "II", kind, length) + draw(st.binary(max_size=60))
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=400) | block_soup(),
    st.sampled_from([0, 0, 0, 1, 4, 8, 13, 40]),
    st.integers(0, 3),
    st.booleans(),
    st.lists(
        st.tuples(
            st.integers(0, 65535),
            st.sampled_from([0, 8, 65535]),
            st.integers(0, 1),
            st.integers(0, 127),
            st.integers(-(1 << 40), 1 << 40),
        ),
        min_size=1,
        max_size=3,
    ),
    st.integers(0, 4),
)
def test_pcapng_walk_functions_on_any_bytes(
    buf: bytes,
    pos: int,
    start_row: int,
    big: bool,
    interfaces: list[tuple[int, int, int, int, int]],
    n_if: int,
) -> None:
    array = np.frombuffer(bytearray(buf), dtype=np.uint8)
    linktype, snaplen, kind, exponent, offset = (np.array(c) for c in zip(*interfaces, strict=True))
    arrays = (linktype.astype(np.uint16), snaplen.astype(np.int64), kind.astype(np.int64),
              exponent.astype(np.int64), offset.astype(np.int64))  # fmt: skip
    n_if = min(n_if, len(interfaces))
    results = []
    for walker in (pcapng_kernel.walk_pcapng, pcapng_plain.walk_pcapng):
        columns = Columns(start_row + 6)
        got = walker(array, pos, start_row, big, *arrays, n_if, columns.data_off,
                     columns.caplen, columns.wirelen, columns.ts_ns, columns.linktype,
                     columns.iface, columns.direction, columns.comment_off,
                     columns.comment_len)  # fmt: skip
        results.append((tuple(int(x) for x in got), filled(columns, start_row, int(got[0]))))
    assert results[0] == results[1]


def test_pcapng_time_units_of_every_resolution(scratch: Path) -> None:
    # Decimal and binary if_tsresol of every exponent, with offsets that overflow 64 bits.
    blocks = [shb()]
    for res in range(256):
        blocks.append(idb(tsresol=res, tsoffset=(res - 128) * 2**55))
    for res in range(256):
        for units in (1, 2**32 - 1, 2**63 + 12345, 2**64 - 1):
            blocks.append(epb(interface=res, units=units, data=b"x"))
    path = scratch / "resolutions.pcapng"
    path.write_bytes(b"".join(blocks))
    assert assert_same_reading(path, (64 << 20, 1000)) == 2 * 256 * 4


def test_the_capture_size_chooses_the_walker(
    scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One bound for the walker and for the reference decoders: a small capture is read
    # without numba from end to end.
    assert walk.KERNEL_BYTES == pipeline.SMALL_CAPTURE
    seen: list[bool] = []
    original = PcapWalker.walk

    def spy(self: PcapWalker, buf: Any, pos: int, columns: Columns, compiled: bool) -> Any:
        seen.append(compiled)
        return original(self, buf, pos, columns, compiled)

    monkeypatch.setattr(PcapWalker, "walk", spy)
    record = PcapRecord(1, 2, bytes(1000))
    for count, compiled in ((10, False), (walk.KERNEL_BYTES // 1016 + 1, True)):
        path = scratch / f"size{count}.pcap"
        data = pcap_file([record] * count)
        path.write_bytes(data)
        assert (len(data) >= walk.KERNEL_BYTES) is compiled
        seen.clear()
        with open_capture(str(path)) as source:
            assert sum(len(b) for b in source.batches()) == count
        assert seen and set(seen) == {compiled}


def test_struct_layout_of_the_record_header() -> None:
    # draft-ietf-opsawg-pcap §5: four 32-bit fields; the walkers read them in one unpack.
    head = struct.pack("<IIII", 1, 2, 3, 4) + b"abc"
    array = np.frombuffer(bytearray(head), dtype=np.uint8)
    columns = Columns(2)
    got = pcap_plain.walk_pcap(array, 0, False, False, False, 65535, columns.data_off,
                               columns.caplen, columns.wirelen, columns.ts_ns,
                               columns.direction)  # fmt: skip
    assert got == (1, 19, 0, 0)
    assert (columns.data_off[0], columns.caplen[0], columns.wirelen[0]) == (16, 3, 4)
    assert columns.ts_ns[0] == 1_000_000_000 + 2_000


def _walk_both(buf: bytes, n_if: int = 1, snaplen: int = 0, big: bool = False) -> list[Any]:
    array = np.frombuffer(bytearray(buf), dtype=np.uint8)
    arrays = (np.array([1], np.uint16), np.array([snaplen], np.int64), np.zeros(1, np.int64),
              np.array([6], np.int64), np.zeros(1, np.int64))  # fmt: skip
    results = []
    for walker in (pcapng_kernel.walk_pcapng, pcapng_plain.walk_pcapng):
        columns = Columns(4)
        got = walker(array, 0, 0, big, *arrays, n_if, columns.data_off, columns.caplen,
                     columns.wirelen, columns.ts_ns, columns.linktype, columns.iface,
                     columns.direction, columns.comment_off, columns.comment_len)  # fmt: skip
        results.append((tuple(int(x) for x in got), filled(columns, 0, int(got[0]))))
    assert results[0] == results[1]
    return results[1]


def test_edge_blocks_walk_alike() -> None:
    # Two comments (the first is kept), a 3-byte flags value (too short to read), an option
    # that ends exactly at the trailing length, inbound and outbound flags.
    for flags in (b"\x01\x00\x00\x00", b"\x02\x00\x00\x00", b"\x03\x00\x00\x00", b"\x01\x02\x03"):
        options = option(1, b"first") + option(1, b"second") + option(2, flags)
        body = struct.pack("<IIIII", 0, 0, 5, 2, 2) + b"ab\x00\x00" + options
        (got, cols) = _walk_both(block(6, body))
        assert got[0] == 1 and cols["comment_len"] == [5]
    # Packet blocks stated 25-28 bytes long: too short for an EPB / OPB header (§4.3).
    for stated in (25, 28):
        for kind in (2, 6):
            head = struct.pack("<IIIII", 0, 0, 0, 7, 7)
            (got, _) = _walk_both(block(kind, head + bytes(8), stated_length=stated))
            assert got[2] == 15  # CODE_BAD_PACKET
    # A Simple Packet Block under an interface whose snaplen is 1 (§4.4: caplen is the
    # smaller of the original length and the snaplen).
    (got, cols) = _walk_both(spb(data=b"abcd"), snaplen=1)
    assert cols["caplen"] == [1]
    (got, cols) = _walk_both(spb(data=b"abcd", big=True), snaplen=1, big=True, n_if=0)
    assert got[2] == 14  # CODE_NO_INTERFACE
