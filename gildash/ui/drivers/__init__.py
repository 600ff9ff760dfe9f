"""Drivers that feed the dashboard's run session without a person at the keys: replay and demo."""
