"""Benchmarks (`backtest bench`, `backtest export-bench`) and the throwaway PostgreSQL cluster
they and the export tests use. Not part of a run: nothing in the product imports them."""
