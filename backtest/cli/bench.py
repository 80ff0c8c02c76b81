"""``bench`` and ``export-bench``: timings on synthetic demo data (see benchmarks/)."""

from __future__ import annotations

import argparse
from pathlib import Path

from backtest.cli.common import add_command


def add_parsers(commands) -> None:
    """Add ``bench`` and ``export-bench``."""
    bench = add_command(commands, "bench", cmd_bench)
    bench.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="comma-separated request counts (default 10000,100000,1000000)",
    )
    bench.add_argument(
        "--workdir",
        metavar="DIR",
        help="where to put the benchmark warehouses (kept; default: a temporary folder whose "
        "warehouses are deleted after each size)",
    )
    bench.add_argument(
        "--via-files",
        action="store_true",
        help="run each size through `backtest run --requests CSV --source files --bars PARQUET`",
    )
    bench.add_argument(
        "--latency-only",
        action="store_true",
        help="only the single-request latencies (cold CLI, warm process): seconds, not minutes",
    )
    bench.add_argument(
        "--latency-repeats",
        type=int,
        default=3,
        metavar="N",
        help="new requests measured for each latency (default 3; the median is shown)",
    )
    bench = add_command(commands, "export-bench", cmd_export_bench)
    bench.add_argument(
        "--requests",
        type=int,
        default=10_000,
        metavar="N",
        help="demo requests to build (default 10000 = 750,000 bt_bars rows)",
    )
    bench.add_argument("--workdir", metavar="DIR", help="where to put the benchmark warehouse")
    bench.add_argument("--batch-size", type=int, metavar="N", help="rows per batch")
    bench.add_argument(
        "--db-url",
        metavar="URL",
        help="export into this EMPTY database instead of a throwaway local cluster",
    )


def cmd_bench(args: argparse.Namespace) -> int:
    """Time ingest and build for 10k, 100k and 1M demo requests, and one request.

    Benchmark on SYNTHETIC demo data sized to each request count (every demo symbol, as many
    trading days as the batch needs), each size in its own process on a fresh warehouse: times
    ingest and build separately (wall and CPU), prints requests/second, the peak memory of the
    size's whole process tree, the time to run one of its requests again on the full warehouse
    and the cost per request against the previous size; then the latency of one new request on
    cached data, from the CLI and from a warm process."""
    from benchmarks.bench import run_benchmark
    from benchmarks.latency import run_latency

    if not args.latency_only:
        sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
        run_benchmark(sizes, args.workdir, args.via_files)
        print()
    workdir = Path(args.workdir) / "latency" if args.workdir else None
    run_latency(workdir, args.latency_repeats)
    return 0


def cmd_export_bench(args: argparse.Namespace) -> int:
    """Time the Postgres export of 10,000 demo requests (750,000 bt_bars rows).

    Build N synthetic demo requests, export them over Postgres to a throwaway local
    PostgreSQL cluster (or --db-url) and print rows/second for the first export, an unchanged
    re-export and a forced full re-export."""
    from benchmarks.export_bench import run_export_benchmark

    run_export_benchmark(args.requests, args.workdir, args.batch_size, args.db_url)
    return 0


COMMANDS = {"bench": cmd_bench, "export-bench": cmd_export_bench}
