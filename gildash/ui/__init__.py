"""Textual user interface of gildash (the only package that imports textual)."""
