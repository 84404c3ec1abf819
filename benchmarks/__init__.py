"""On-demand benchmarks for the mckg SPARQL endpoint (never part of the normal test run).

- :mod:`benchmarks.generate` writes a deterministic policy + credential + ESCO-shaped graph;
- ``benchmarks/queries/`` holds the research query mix;
- :mod:`benchmarks.run` starts every server side by side on the same data, measures and writes
  ``docs/benchmarks.md``.

Run from the repository root: ``python -m benchmarks.run --scale 10k``.
"""
