"""Widgets of the gildash app."""
