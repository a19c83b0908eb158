"""Benchmarks: case manifests, ground-truth scoring, reports."""
