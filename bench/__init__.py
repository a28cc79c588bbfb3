"""Benchmarks for the ranking engine (issue 4, item 8).

* :mod:`bench.generate` - a synthetic district up to province scale, bulk-loaded with COPY;
* :mod:`bench.run` - times the engine's full period recompute against the bare SQL aggregate (the
  floor) and a naive per-school ORM loop, on the same data, plus incremental recompute and the
  worker's peak memory.

Figures and method: ``docs/performance.md``.
"""
