"""Screens of the gildash app."""
