"""Headless core of gildash: discovery, runs, sampling, sweeps, recordings. Never imports textual."""
