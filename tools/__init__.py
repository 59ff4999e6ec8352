"""Tooling around the genba app: the main synth job, quality gates, benchmarks."""
