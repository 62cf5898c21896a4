"""Benchmarks run by ``make bench``: each goal is a ratio against a baseline measured in the
same run, because these machines are shared and noisy. Never timed assertions in tests."""
