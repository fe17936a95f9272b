"""Benchmarks: retrieval quality and speed figures for the README (run as python -m bench.<name>)."""
