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
from wiredoctor.checksum.verdict import Cause, Note, Proto, Status, classify_cause

__all__ = [
    "Cause",
    "Note",
    "Proto",
    "Status",
    "classify_cause",
    "fold",
    "internet_checksum",
    "ones_sum",
    "pseudo_header_sum_ipv4",
    "pseudo_header_sum_ipv6",
    "verifies",
]
