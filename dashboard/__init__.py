"""The wordcam Streamlit dashboard: explore what a model learned from a precomputed DuckDB.

Start it with ``wordcam dashboard --db DB``. Pages live in ``dashboard/pages``; data access goes
through :mod:`core.store.queries` (read-only SQL) and :mod:`core.mining` (the keyword miner).
"""
