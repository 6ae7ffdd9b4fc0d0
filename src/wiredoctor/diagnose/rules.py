"""The rule catalogue: every diagnosis rule wiredoctor runs, in one explicit tuple.

Rules live by topic (checksums, flows, link sizes, host); this module only lists them.
Always holds: each rule's id is a CONTRACT.md diagnosis id and appears once; the diff-only
ids (mss-clamping, nat, packets-lost-between-points, payload-modified) are produced by
`wiredoctor diff`, not here, but have catalogue pages.
"""

from __future__ import annotations

from wiredoctor.diagnose.context import Rule
from wiredoctor.diagnose.rules_capture import CAPTURE_RULES
from wiredoctor.diagnose.rules_checksum import CHECKSUM_RULES
from wiredoctor.diagnose.rules_flow import FLOW_RULES
from wiredoctor.diagnose.rules_host import HOST_RULES
from wiredoctor.diagnose.rules_link import LINK_RULES

RULES: tuple[Rule, ...] = (
    *CHECKSUM_RULES,
    *CAPTURE_RULES,
    *LINK_RULES,
    *FLOW_RULES,
    *HOST_RULES,
)

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
