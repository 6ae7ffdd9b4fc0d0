"""Capture sources: bytes from files, stdin, compressed streams and text become records."""
