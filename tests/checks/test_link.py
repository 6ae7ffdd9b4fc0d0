"""Link checks over hand-built tables and frame bytes: trailers and their kinds, over-MTU frames,
offload super-frames, non-zero padding."""

from __future__ import annotations

import struct
import zlib

from checks.tablekit import ACK, BASE_NS, by_symbol, echo, make_tables, tcp
from wiredoctor.capture.record import LinkType
from wiredoctor.checks.run import CheckOptions, run_checks
from wiredoctor.checks.trailers import classify_trailer, fcs_valid
from wiredoctor.checksum.verdict import Cause, Proto, Status
from wiredoctor.tables import FrameFlag

A, B = "192.168.10.10", "192.168.10.20"
NOW_S = BASE_NS // 1_000_000_000


def ip_frame(ip_len: int) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, 1, 0x4000, 64, 1, 0, bytes(4), bytes(4))
    return b"\x02" * 12 + b"\x08\x00" + ip + bytes(ip_len - 20)


def with_fcs(frame: bytes) -> bytes:
    return frame + struct.pack("<I", zlib.crc32(frame))


def kind(trailer: bytes, *, fcs: bool = False) -> str:
    base = ip_frame(84)
    frame = with_fcs(base + trailer) if fcs else base + trailer
    return classify_trailer(frame, len(base), len(frame), LinkType.ETHERNET, BASE_NS).kind


def metamako(seconds: int = NOW_S, nanos: int = 5, device: int = 7, port: int = 3) -> bytes:
    return struct.pack("!IIIBHB", 0xDEADBEEF, seconds, nanos, 0x01, device, port)


def exablaze(seconds: int = NOW_S) -> bytes:
    return struct.pack("!IBBI", 0x01020304, 9, 4, seconds) + (1 << 39).to_bytes(5, "big") + b"\0"


def test_trailer_kinds_from_bytes() -> None:
    assert kind(b"", fcs=True) == "fcs"
    assert kind(b"\x25\x7f") == "vss-monitoring"
    assert kind(struct.pack("!II", NOW_S, 123) + b"\x00\x05") == "vss-monitoring"
    assert kind(metamako()) == "metamako"
    assert kind(metamako(), fcs=True) == "metamako"
    assert kind(exablaze()) == "exablaze"
    assert kind(exablaze(), fcs=True) == "exablaze"
    assert kind(b"\x12\x34\x56\x78", fcs=True) == "arista"
    assert kind(b"\x01\x02\x03") == "unknown"
    # A timestamp months away from the capture time is not a tap's timestamp.
    assert kind(metamako(seconds=NOW_S - 90 * 86400)) == "unknown"


def test_trailer_fields_are_decoded() -> None:
    base = ip_frame(84)
    frame = base + metamako(nanos=999, device=300, port=12)
    info = classify_trailer(frame, len(base), len(frame), LinkType.ETHERNET, BASE_NS)
    assert info.fields["device"] == 300 and info.fields["port"] == 12
    assert info.fields["nanoseconds"] == 999 and info.fields["original_fcs"] == 0xDEADBEEF
    frame = base + exablaze()
    info = classify_trailer(frame, len(base), len(frame), LinkType.ETHERNET, BASE_NS)
    assert (info.fields["device"], info.fields["port"]) == (9, 4)
    assert info.fields["nanoseconds"] == 500_000_000
    assert fcs_valid(with_fcs(base)) and not fcs_valid(base + b"\0\0\0\0")


def test_seed_003_two_byte_trailer_pushes_full_frames_over_mtu() -> None:
    full = ip_frame(1500)
    frames = {1: full + b"\x25\x7f", 2: ip_frame(1500), 3: ip_frame(28) + bytes(18)}
    rows = [
        {**echo(A, B, 1, 1, 1472), "trailer_len": 2, "trailer_off": 1514},
        {**echo(B, A, 1, 1, 1472, reply=True)},
        {**echo(A, B, 1, 2, 0), "pad_len": 18, "trailer_off": 42, "wirelen": 60},
    ]
    out = by_symbol(run_checks(make_tables(rows, read_frame=frames.__getitem__), CheckOptions()))
    trailer = out["ethernet-trailer"]
    assert trailer.evidence.frames == (1,)
    assert trailer.facts["lengths"] == {"2": 1} and trailer.facts["kinds"] == {"vss-monitoring": 1}
    assert trailer.facts["full_size"] == 1
    assert trailer.facts["sample"][0]["port"] == 0x257F
    over = out["over-mtu-frame"]
    assert over.evidence.frames == (1,)
    assert over.facts["with_trailer"] == 1 and over.facts["max_len"] == 1516
    assert "nonzero-padding" not in out


def test_vlan_and_cooked_headers_are_allowed_for() -> None:
    rows = [
        {**echo(A, B, 1, 1, 1472), "vlan_depth": 1, "wirelen": 1518},
        {**echo(A, B, 1, 2, 1472), "vlan_depth": 2, "wirelen": 1522},
        {**echo(A, B, 1, 3, 1472), "linktype": LinkType.LINUX_SLL, "wirelen": 1516},
        {**echo(A, B, 1, 4, 1472), "linktype": LinkType.LINUX_SLL2, "wirelen": 1520},
        {**echo(A, B, 1, 5, 1473), "vlan_depth": 1, "wirelen": 1519},
    ]
    out = by_symbol(run_checks(make_tables(rows), CheckOptions()))
    assert out["over-mtu-frame"].evidence.frames == (5,)
    assert out["over-mtu-frame"].facts["with_trailer"] == 0
    jumbo = by_symbol(run_checks(make_tables(rows), CheckOptions(mtu=9000)))
    assert "over-mtu-frame" not in jumbo


def test_offload_super_frames_are_not_over_mtu() -> None:
    rows = [
        tcp(A, B, 1, 2, 0, 0, ACK, payload=2896),  # two segments' worth: TSO/GRO
        tcp(
            A,
            B,
            1,
            2,
            2896,
            0,
            ACK,
            payload=1460,
            ip_len=0,
            wirelen=1514 + 14,
            frame_flags=int(FrameFlag.IPV4_LEN_ZERO),
        ),
        {
            "src": A,
            "dst": B,
            "ip_proto": 17,
            "sport": 1,
            "dport": 2,
            "ip_len": 3000,
            "l4_payload_len": 2972,
        },  # UDP GSO, partial checksum
        {
            "src": A,
            "dst": B,
            "ip_proto": 17,
            "sport": 1,
            "dport": 2,
            "ip_len": 1600,
            "l4_payload_len": 1572,
        },  # plain over-MTU UDP
    ]
    sums = [{"frame": 3, "proto": Proto.UDP, "status": Status.BAD,
             "cause": Cause.OFFLOAD_PARTIAL}]  # fmt: skip
    out = by_symbol(run_checks(make_tables(rows, sums), CheckOptions()))
    sup = out["segmentation-offload-frames"]
    assert sup.evidence.frames == (1, 2, 3)
    assert sup.facts["max_len"] == 3014 and sup.facts["mtu"] == 1500
    assert sup.facts["senders"] == [A] and sup.facts["partial_checksum"] == 1
    assert out["over-mtu-frame"].evidence.frames == (4,)


def test_nonzero_padding() -> None:
    rows = [{**echo(A, B, 1, 1, 0), "pad_len": 18, "trailer_nonzero_pad": 1, "wirelen": 60},
            {**echo(A, B, 1, 2, 0), "pad_len": 18, "wirelen": 60}]  # fmt: skip
    out = by_symbol(run_checks(make_tables(rows), CheckOptions()))
    assert out["nonzero-padding"].evidence.frames == (1,)
    assert "ethernet-trailer" not in out and "over-mtu-frame" not in out
