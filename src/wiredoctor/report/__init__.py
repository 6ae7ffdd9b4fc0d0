"""Renderers: terminal (rich), JSON documents and JSON Lines. The only printing layer."""
