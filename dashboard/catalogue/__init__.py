"""Every text the dashboard shows, in Japanese and in English: one dict per language.

Keys are ``area.name`` (``page.`` titles, ``app.`` sidebar, ``w.`` shared widgets, ``chart.``
axis/legend/tooltip titles, then one prefix per page). Both dicts hold the same keys with the
same ``{placeholders}``; ``tests/test_dashboard_i18n.py`` fails on a key missing in one.

One module per language (``en``, ``ja``), this package joins them.
"""

from __future__ import annotations

from dashboard.catalogue.en import EN
from dashboard.catalogue.ja import JA

CATALOGUE: dict[str, dict[str, str]] = {"en": EN, "ja": JA}
