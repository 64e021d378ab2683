"""Benchmarks for ``make bench``: they print figures and write docs/PERFORMANCE.md.

They are not tests: nothing here asserts on time. Each measurement is a plain function that
returns a dict of figures, so ``tests/test_benchmarks_smoke.py`` can run it for a moment.
"""
