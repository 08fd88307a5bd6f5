"""Benchmarks (scripts with a main(); run with python -m bench.<name>)."""
