"""Shared fixtures: where the shared corpus and seed reports are, skipping when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared folder beside the project (corpus, seeds, docs); skips when absent."""
    if not SHARED.is_dir():
        pytest.skip(f"the shared folder is not beside the project ({SHARED} absent)")
    return SHARED


@pytest.fixture(scope="session")
def seeds_dir(shared_dir: Path) -> Path:
    seeds = shared_dir / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"seed reports absent ({seeds})")
    return seeds


@pytest.fixture(scope="session")
def corpus_dir(shared_dir: Path) -> Path:
    corpus = shared_dir / "corpus"
    if not (corpus / "pcaps").is_dir():
        pytest.skip(f"capture corpus absent ({corpus / 'pcaps'})")
    return corpus
