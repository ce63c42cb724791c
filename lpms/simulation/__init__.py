"""Closed-loop simulation: LPMS against MRP on the same plant, demand and disturbances (docs/simulation.md).

``plants`` (the plant: demo, generated, scenario file), ``world`` (demand, disturbances and the
shop floor; pure and seeded), ``mrp`` (the ERP baseline policy, pure), ``lpms_policy`` (the real
LPMS services on a throwaway SQLite database), ``runner`` (runs, measures, statistics) and
``report`` (HTML, CSV, JSON).
"""
