"""The wordcam Streamlit dashboard: explore what a model learned from a precomputed DuckDB.

Start it with ``wordcam dashboard --db DB``. ``app.py`` builds the navigation; the pages live
in ``dashboard/views``. The rooms they share, one concern each:

* ``state``: which DB this session reads, and the one shared connection to its snapshot.
* ``data``: cached reads, thin wrappers over :mod:`core.store.queries` (read-only SQL).
* ``context``: ``Ctx`` (snapshot + chosen run) and ``load_ctx``, or a friendly message.
* ``nav``: the pages and the moves between them.
* ``settings``: the keyword-mining settings the Keywords page sets.
* ``background``: the background worker and its memo of futures.
* ``miner``: :mod:`core.mining` for the pages: stored tables, fits, prefetch, accuracy.
* ``job``: the precompute job as a child process (start, find, log).
* ``widgets``, ``charts``, ``tables``, ``fmt``, ``text``: what the pages show, and how.
"""
