"""Benchmarks: ratios against a reference tool run side by side in the same run (never timed assertions)."""
