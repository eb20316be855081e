"""Keyword mining: which words in the explanations predict each class.

Each explanation is a bag of words (presence per document). A multinomial logistic
regression words -> label ranks, per class, the words with the largest positive weights;
each word is shown with its precision ``n/m`` (documents with the word *and* the label /
documents with the word), e.g. ガードレール(8/39). The cross-validated accuracy of words ->
label sits beside the image model's own accuracy on the run (one definition:
:mod:`core.store.metrics`) and the majority-class baseline of the documents mined:
explanations that predict the label about as well as the model does are telling what the
model looks at.

One concern per module:

* :mod:`~core.mining.files`: THE corpus-file reader (CSV/TSV/JSONL ``id,label,text``).
* :mod:`~core.mining.corpus`: :class:`Corpus` and :func:`load_corpus` (a DB run or a file;
  ``kinds=`` keeps only object/colour/position/other words, :func:`run_word_kinds` says
  which kinds a run stores).
* :mod:`~core.mining.fit`: the document-term matrix, the logistic regression, CV.
* :mod:`~core.mining.keywords`: :func:`mine`; :mod:`~core.mining.result`: its answer and
  its Markdown/CSV/JSON forms, written in the run's language (:mod:`~core.mining.strings`,
  the tables' text in both languages; JSON stays English).
* :mod:`~core.mining.compare` (:func:`contrast`) and :mod:`~core.mining.sentences`
  (:func:`examples`): two classes or two words side by side; the sentences around a word.
  (No module is named like a function it exports: the package's names are lazy.)
* :mod:`~core.mining.settings`: :class:`MiningSettings`, the one settings object, and
  :data:`DEFAULTS`, the only place the miner's defaults are written.
* :mod:`~core.mining.table`: :func:`keyword_table`, THE keyword table of a run for some
  settings: the stored table when it answers, else a fit, with the verified words attached
  (:mod:`~core.mining.effects`; a word not verified carries :data:`NOT_TESTED`).
* :mod:`~core.mining.stored`: the keyword tables the precompute job stores.

Nothing here prints. Loading and fitting only read; the two functions that write to the
database, :func:`write_terms` (the term matrix) and :func:`store_default_results` (the
stored keyword tables), are called by the precompute job and write through the store's own
SQL (:mod:`core.store.terms`, :mod:`core.store.keyword_tables`), as every query on the
store's tables lives in :mod:`core.store`. The names below are imported on first use, so
``core.mining.settings`` stays light (the CLI reads its defaults while building its parser).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ContrastResult": "compare",
    "contrast": "compare",
    "Corpus": "corpus",
    "load_corpus": "corpus",
    "run_word_kinds": "corpus",
    "shown_kinds": "corpus",
    "word_kinds": "corpus",
    "NOT_TESTED": "effects",
    "NotTested": "effects",
    "attach_effects": "effects",
    "Example": "sentences",
    "examples": "sentences",
    "split_sentences": "sentences",
    "TextRecord": "files",
    "id_label_text": "files",
    "read_text_records": "files",
    "LARGE_CORPUS_DOCS": "fit",
    "LARGE_CORPUS_FOLDS": "fit",
    "MIN_CLASS_DOCS": "fit",
    "mine": "keywords",
    "Keyword": "result",
    "MiningResult": "result",
    "DEFAULTS": "settings",
    "STORED_TOP": "settings",
    "MiningSettings": "settings",
    "label_source": "settings",
    "MINING_VERSION": "stored",
    "settings_key": "stored",
    "store_default_results": "stored",
    "stored_result": "stored",
    "keyword_table": "table",
    "mine_source": "table",
}
_FROM_STORE = {"corpus_key": "core.store.keyword_tables", "write_terms": "core.store.terms"}

__all__ = sorted([*_EXPORTS, *_FROM_STORE])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"core.mining.{_EXPORTS[name]}"), name)
    if name in _FROM_STORE:
        return getattr(importlib.import_module(_FROM_STORE[name]), name)
    try:  # a submodule (``core.mining.fit``)
        return importlib.import_module(f"core.mining.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module 'core.mining' has no attribute {name!r}") from None
