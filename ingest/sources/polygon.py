"""The Polygon source: only what the warehouse's cache lacks is fetched, chunk by chunk, each
chunk in its own transaction, so what was fetched before a failure is kept."""

from __future__ import annotations

from backtest.core.warehouse import connect, upsert_requests
from ingest.polygon import ingest_polygon, resolve_api_key
from ingest.sources.base import Batch, IngestReport, SourceOptions


class PolygonSource:
    """``--source polygon`` (key in ``POLYGON_API_KEY``)."""

    name = "polygon"

    def check(self, options: SourceOptions) -> None:
        """The API key must be there before any work starts."""
        resolve_api_key(options.polygon)

    def labels(self, options: SourceOptions) -> tuple[str, str]:
        return options.polygon.data_source("bars"), options.polygon.data_source("trades")

    def load(self, batch: Batch) -> IngestReport:
        with connect(batch.db_path) as con:
            con.begin()
            upsert_requests(con, batch.requests)
            con.commit()
            result = ingest_polygon(
                con,
                batch.requests,
                batch.options.polygon,
                batch.kinds,
                batch.notify,
                now=batch.options.now,
            )
        counters = result.counters
        return IngestReport.of(
            result.load,
            self.labels(batch.options)[0],
            trades=result.trades,
            quotes=result.quotes,
            calls_made=counters.calls_made,
            calls_saved=counters.calls_saved,
            chunks_fetched=counters.chunks_fetched,
        )


SOURCE = PolygonSource()
