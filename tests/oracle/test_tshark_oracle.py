"""The reference verifier held to tshark over the whole shared corpus.

For every (frame, proto, depth) where tshark says good or bad, our status must agree, and our
expected value must equal tshark's `*_calculated` when it gives one. The few occurrences
where we differ on purpose are listed, each with its reason, in tshark_disagreements.csv;
the test fails on any new disagreement and on any listed one that no longer occurs.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from wiredoctor.capture.record import Record
from wiredoctor.checksum.verdict import Cause, Note, Proto, Status
from wiredoctor.decode.frame import decode_frame
from wiredoctor.decode.ipv6 import IPv6Routing
from wiredoctor.decode.verify import verify_records
from wiredoctor.tables import ChecksumTable, FrameFlag, FrameTable

pytestmark = pytest.mark.corpus

DISAGREEMENTS = Path(__file__).with_name("tshark_disagreements.csv")

TSHARK_PROTOS = {
    "ip": Proto.IPV4,
    "tcp": Proto.TCP,
    "udp": Proto.UDP,
    "icmp": Proto.ICMP,
    "icmpv6": Proto.ICMPV6,
    "igmp": Proto.IGMP,
    "gre": Proto.GRE,
}
# tshark's *.checksum.status codes (0 Bad, 1 Good) in our Status terms.
TSHARK_STATUS = {"0": Status.BAD, "1": Status.GOOD}

Key = tuple[str, int, str, int]


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of comparing the whole corpus."""

    compared: int
    agreed: int
    disagreements: dict[Key, str]
    ethernet_frames: int
    padding_agreed: int


def _ours(checksums: ChecksumTable) -> dict[tuple[int, int, int], np.void]:
    out: dict[tuple[int, int, int], np.void] = {}
    for row in checksums:
        proto = int(row["proto"])
        # tshark reports UDP-Lite in the udp fields.
        proto = Proto.UDP if proto == Proto.UDPLITE else proto
        out[(int(row["frame"]), proto, int(row["depth"]))] = row
    return out


def _compare_file(path: Path, oracle: Path, checksums: ChecksumTable, cmp: dict[Key, str]) -> int:
    ours = _ours(checksums)
    compared = 0
    with oracle.open(newline="") as handle:
        for row in csv.DictReader(handle):
            frame = int(row["frame.number"])
            for name, proto in TSHARK_PROTOS.items():
                statuses = row.get(f"{name}.checksum.status", "").split(";")
                calculated = row.get(f"{name}.checksum_calculated", "").split(";")
                for depth, status in enumerate(statuses):
                    if status not in TSHARK_STATUS:
                        continue
                    compared += 1
                    mine = ours.get((frame, proto, depth))
                    why = ""
                    if mine is None:
                        why = "missing"
                    elif int(mine["status"]) != TSHARK_STATUS[status]:
                        why = f"status {int(mine['status'])} vs tshark {status}"
                    elif (
                        depth < len(calculated)
                        and calculated[depth]
                        and int(calculated[depth], 16) != int(mine["expected"])
                    ):
                        why = f"expected {int(mine['expected']):#x} vs {calculated[depth]}"
                    if why:
                        cmp[(path.name, frame, name, depth)] = why
    return compared


@pytest.fixture(scope="module")
def comparison(corpus: Path, reader: Callable[[Path], list[Record]]) -> Comparison:
    compared = ethernet_frames = padding_agreed = 0
    disagreements: dict[Key, str] = {}
    for path in sorted((corpus / "pcaps").iterdir()):
        oracle = corpus / "oracle" / "tshark" / f"{path.name}.csv"
        # A decoder that raised would fail every test of this module here.
        frames, checksums = verify_records(reader(path))
        compared += _compare_file(path, oracle, checksums, disagreements)
        ethernet_frames, padding_agreed = _compare_padding(
            oracle, frames, ethernet_frames, padding_agreed
        )
    agreed = compared - len(disagreements)
    return Comparison(compared, agreed, disagreements, ethernet_frames, padding_agreed)


def _compare_padding(oracle: Path, frames: FrameTable, total: int, agreed: int) -> tuple[int, int]:
    """Count Ethernet frames whose (eth.padding, eth.trailer) lengths match ours."""
    ours = {int(f["frame"]): (int(f["pad_len"]), int(f["trailer_len"])) for f in frames}
    with oracle.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["frame.encap_type"] != "1" or int(row["frame.number"]) not in ours:
                continue
            pad = len(row["eth.padding"].replace(":", "")) // 2
            trailer = len(row["eth.trailer"].replace(":", "")) // 2
            total += 1
            agreed += ours[int(row["frame.number"])] == (pad, trailer)
    return total, agreed


def _listed() -> dict[Key, str]:
    with DISAGREEMENTS.open(newline="") as handle:
        return {
            (r["capture"], int(r["frame"]), r["proto"], int(r["depth"])): r["reason"]
            for r in csv.DictReader(handle)
        }


def test_agreement_with_tshark(comparison: Comparison) -> None:
    share = comparison.agreed / comparison.compared
    print(
        f"\nreference verifier vs tshark: {comparison.agreed}/{comparison.compared} "
        f"good/bad occurrences agree ({share:.3%})"
    )
    assert comparison.compared > 35_000
    assert share >= 0.995


def test_padding_and_trailer_follow_wireshark(comparison: Comparison) -> None:
    share = comparison.padding_agreed / comparison.ethernet_frames
    print(f"\neth.padding/eth.trailer lengths agree on {share:.2%} of Ethernet frames")
    # The rest: Cisco ISL frames (not decoded), vendor trailers tshark's heuristics take
    # (Metamako, F5), IPX without a length, frames inside OpenFlow messages.
    assert share >= 0.97


def test_disagreements_are_exactly_the_listed_ones(comparison: Comparison) -> None:
    listed = _listed()
    assert all(reason.strip() for reason in listed.values())
    new = {k: v for k, v in comparison.disagreements.items() if k not in listed}
    stale = sorted(k for k in listed if k not in comparison.disagreements)
    assert new == {}, "new disagreements with tshark"
    assert stale == [], "listed disagreements that no longer occur"


def _verify(
    corpus: Path, reader: Callable[[Path], list[Record]], name: str
) -> tuple[FrameTable, ChecksumTable]:
    path = corpus / "pcaps" / name
    if not path.exists():
        pytest.skip(f"{name} is not in the shared corpus")
    return verify_records(reader(path))


PARTIAL_SUM_CAPTURES = [
    "tcpdump__gso-ipv4.pcap",
    "tcpdump__gso-ipv4-vxlan-ipv4.pcap",
    "tcpdump__gso-ipv6-geneve-ipv6.pcap",
    "tcpdump__bigtcp-ipv4.pcap",
    "tcpdump__bigtcp-ipv6-hbh.pcap",
    "tcpdump__accecn_handshake.pcap",
    "tcpdump__mptcp-aa-echo.pcap",
    "tcpdump__whois.pcap",
    "tcpdump__RADIUS-RFC4675.pcap",
    "suricata__decode-sll2-02.pcap",
    "zeek__localhost-bad-chksum.pcap",
]


@pytest.mark.parametrize("name", PARTIAL_SUM_CAPTURES)
def test_linux_partial_sums_are_offload_artefacts(
    corpus: Path, reader: Callable[[Path], list[Record]], name: str
) -> None:
    _, checksums = _verify(corpus, reader, name)
    bad = checksums[checksums["status"] == Status.BAD]
    l4 = bad[np.isin(bad["proto"], [Proto.TCP, Proto.UDP])]
    assert len(l4) > 0
    assert set(l4["cause"].tolist()) == {Cause.OFFLOAD_PARTIAL}
    assert (l4["value"] == l4["partial"]).all()


def test_big_tcp_partial_sum_uses_the_frame_length(
    corpus: Path, reader: Callable[[Path], list[Record]]
) -> None:
    frames, checksums = _verify(corpus, reader, "tcpdump__bigtcp-ipv4.pcap")
    assert frames["flags"][0] & FrameFlag.IPV4_LEN_ZERO
    tcp = checksums[checksums["proto"] == Proto.TCP][0]
    assert tcp["l4_len"] == frames["wirelen"][0] - 14 - 20
    assert tcp["expected"] == 0x199D  # tshark: "Bad checksum [should be 0x199d]"


def test_nfs_cannot_pad_is_off_by_one(corpus: Path, reader: Callable[[Path], list[Record]]) -> None:
    _, checksums = _verify(corpus, reader, "tcpdump__nfs-cannot-pad-32-bit.pcap")
    assert Cause.OFF_BY_ONE in checksums["cause"].tolist()


def test_windows_lso_is_partial_without_length(
    corpus: Path, reader: Callable[[Path], list[Record]]
) -> None:
    _, checksums = _verify(corpus, reader, "tcpdump__ipv4_tcp_http_xml_tso.pcap")
    tcp = checksums[checksums["proto"] == Proto.TCP]
    assert tcp["status"].tolist() == [Status.BAD]
    assert tcp["cause"].tolist() == [Cause.OFFLOAD_PARTIAL_NOLEN]
    assert tcp["expected"].tolist() == [0x9CF2]  # tshark's tcp.checksum_calculated
    ip = checksums[checksums["proto"] == Proto.IPV4]
    assert ip["cause"].tolist() == [Cause.ZERO]  # the IP header checksum was offloaded too


FINAL_DESTINATION_CAPTURES = [
    "tcpdump__ipv6-srh-insert-cksum.pcap",
    "tcpdump__ipv6-routing-header.pcap",
    "zeek__ip6-route0-tcp-good-chksum.pcap",
    "zeek__ipv6-hbh-routing0.pcap",
    "zeek__ipv6-mobile-routing.pcap",
]


@pytest.mark.parametrize("name", FINAL_DESTINATION_CAPTURES)
def test_routing_headers_verify_against_the_final_destination(
    corpus: Path, reader: Callable[[Path], list[Record]], name: str
) -> None:
    frames, checksums = _verify(corpus, reader, name)
    final = checksums[(checksums["note"] & Note.FINAL_DESTINATION) != 0]
    assert len(final) > 0
    assert set(final["status"].tolist()) == {Status.GOOD}
    assert (frames["flags"] & FrameFlag.SRH).any()


SRH_CAPTURES = [
    "tcpdump__ipv6-srh-ext-header.pcap",
    "tcpdump__ipv6-srh-insert-cksum.pcap",
    "tcpdump__ipv6-srh-ipproto-ether.pcap",
    "tcpdump__ipv6-srh-tlv-hmac.pcap",
    "tcpdump__ipv6-srh-tlv-pad1-padn-5-trunc.pcap",
    "wireshark-wiki__sr-header.pcap",
]


@pytest.mark.parametrize("name", SRH_CAPTURES)
def test_srh_captures_have_no_bad_checksum(
    corpus: Path, reader: Callable[[Path], list[Record]], name: str
) -> None:
    _, checksums = _verify(corpus, reader, name)
    assert Status.BAD not in checksums["status"].tolist()
    routing = [
        layer
        for record in reader(corpus / "pcaps" / name)
        for layer in decode_frame(record).layers
        if isinstance(layer, IPv6Routing)
    ]
    # Segments left is 0 in these (or the header is cut): the wire destination is final.
    assert {r.routing_type for r in routing} <= {4}


def test_bad_routing_type0_checksums_are_bad_against_the_final_destination(
    corpus: Path, reader: Callable[[Path], list[Record]]
) -> None:
    for name in ("zeek__ip6-route0-tcp-bad-chksum.pcap", "zeek__ip6-route0-udp-bad-chksum.pcap"):
        _, checksums = _verify(corpus, reader, name)
        l4 = checksums[np.isin(checksums["proto"], [Proto.TCP, Proto.UDP])]
        assert l4["status"].tolist() == [Status.BAD]
        assert l4["note"].tolist() == [Note.FINAL_DESTINATION]
