"""Run every benchmark and print its table: python -m bench"""

from __future__ import annotations

import importlib

for name in ("bench_core", "bench_scans", "bench_alerts", "bench_login", "bench_analytics",
             "bench_shipments"):
    print(f"\n## {name}\n", flush=True)
    importlib.import_module(f"bench.{name}").main([])
