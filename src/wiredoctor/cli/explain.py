"""`wiredoctor explain [ID]`: print the catalogue page of a diagnosis id.

Always holds: a known id prints its page and exits 0; no id lists every id (exit 0); an
unknown id prints the list of ids on stderr and exits 2 (a usage error).
"""

from __future__ import annotations

import click

from wiredoctor.diagnose.catalogue import DIAGNOSIS_IDS, PAGES
from wiredoctor.diagnose.catalogue import explain as explain_page


@click.command()
@click.argument("diagnosis_id", required=False, metavar="ID")
def explain(diagnosis_id: str | None) -> int:
    """Explain a diagnosis: mechanism, how to confirm it, remedies, references."""
    if diagnosis_id is None:
        for known in DIAGNOSIS_IDS:
            click.echo(f"{known:<38} {PAGES[known].title}")
        return 0
    page = explain_page(diagnosis_id)
    if page is None:
        click.echo(f"wiredoctor: unknown diagnosis id {diagnosis_id!r}; known ids:", err=True)
        for known in DIAGNOSIS_IDS:
            click.echo(f"  {known}", err=True)
        return 2
    click.echo(page, nl=False)
    return 0
