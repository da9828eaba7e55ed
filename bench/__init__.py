"""Benchmarks: each module measures a figure and its raw baseline in the same run and reports the ratio."""
