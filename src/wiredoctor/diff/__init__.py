"""Two capture points: pair each packet of A with its copy in B and name what changed.

`diff_captures(a, b)` (pair.py) is the entry point; `diff_json` (jsonout.py) builds the
`diff --json` document; the human rendering lives in report/diff_text.py.
"""

from wiredoctor.diff.jsonout import diff_json
from wiredoctor.diff.pair import diff_captures, pair_rows
from wiredoctor.diff.result import DiffResult, FieldChange, Update

__all__ = ["DiffResult", "FieldChange", "Update", "diff_captures", "diff_json", "pair_rows"]
