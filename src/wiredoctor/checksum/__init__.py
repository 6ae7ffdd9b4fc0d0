"""Reference checksum arithmetic, public API.

RFC 1071 ones'-complement sums, IPv4/IPv6 pseudo-header sums, RFC 1624 incremental
updates, and the classifier that names why a checksum is wrong.
"""

from wiredoctor.checksum.arith import (
    fold,
    internet_checksum,
    ones_sum,
    pseudo_header_sum_ipv4,
    pseudo_header_sum_ipv6,
    verifies,
)
from wiredoctor.checksum.incremental import (
    aligned_window,
    incremental_update,
    naive_update_twos_complement,
    rfc1141_update,
)
from wiredoctor.checksum.judge import Judgement, judge, pseudo_header_sum
from wiredoctor.checksum.rewrite import locate_transport, recompute_checksums, rewrite_tcp_mss
from wiredoctor.checksum.verdict import Cause, Note, Proto, Status, classify_cause

__all__ = [
    "Cause",
    "Judgement",
    "Note",
    "Proto",
    "Status",
    "aligned_window",
    "classify_cause",
    "fold",
    "incremental_update",
    "internet_checksum",
    "judge",
    "locate_transport",
    "naive_update_twos_complement",
    "ones_sum",
    "pseudo_header_sum",
    "pseudo_header_sum_ipv4",
    "pseudo_header_sum_ipv6",
    "recompute_checksums",
    "rewrite_tcp_mss",
    "rfc1141_update",
    "verifies",
]
