"""Checks: vectorised observations over the frame and checksum tables → Findings."""
