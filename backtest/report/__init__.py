"""The report: one self-contained HTML tear sheet of a selection of stored backtests
(``backtest report``), drawn with plotly, every heavy aggregation done in DuckDB.

``tear_sheet`` composes it; ``selection`` makes the temporary views of the selected requests;
``queries`` computes one small table per figure; ``marts`` runs the dbt marts' own SQL on the
selection; ``figures`` draws one figure per table.
"""

from __future__ import annotations

from backtest.report.tear_sheet import Report, WrittenReport, build_report, write_report

__all__ = ["Report", "WrittenReport", "build_report", "write_report"]
