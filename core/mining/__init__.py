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
  its Markdown/CSV/JSON forms.
* :mod:`~core.mining.contrast` and :mod:`~core.mining.examples`: two classes or two words
  side by side; the sentences around a word.
* :mod:`~core.mining.stored`: the keyword tables the precompute job stores, and
  :func:`mine_source`, which answers from them.

Nothing here prints. Loading and fitting only read; the two functions that write to the
database, :func:`write_terms` (the term matrix) and :func:`store_default_results` (the
stored keyword tables), are called by the precompute job and write through the store's own
SQL (:mod:`core.store.terms`, :mod:`core.store.keyword_tables`), as every query on the
store's tables lives in :mod:`core.store`.
"""

from core.mining.contrast import ContrastResult, contrast
from core.mining.corpus import Corpus, load_corpus, run_word_kinds, word_kinds
from core.mining.examples import Example, examples, split_sentences
from core.mining.files import TextRecord, id_label_text, read_text_records
from core.mining.fit import LARGE_CORPUS_DOCS, LARGE_CORPUS_FOLDS, MIN_CLASS_DOCS
from core.mining.keywords import mine
from core.mining.result import Keyword, MiningResult
from core.mining.stored import (
    DEFAULT_SETTINGS,
    MINING_VERSION,
    STORED_TOP,
    mine_source,
    settings_key,
    store_default_results,
    stored_result,
)
from core.store.keyword_tables import corpus_key
from core.store.terms import write_terms

__all__ = [
    "DEFAULT_SETTINGS",
    "LARGE_CORPUS_DOCS",
    "LARGE_CORPUS_FOLDS",
    "MINING_VERSION",
    "MIN_CLASS_DOCS",
    "STORED_TOP",
    "ContrastResult",
    "Corpus",
    "Example",
    "Keyword",
    "MiningResult",
    "TextRecord",
    "contrast",
    "corpus_key",
    "examples",
    "id_label_text",
    "load_corpus",
    "mine",
    "mine_source",
    "read_text_records",
    "run_word_kinds",
    "settings_key",
    "split_sentences",
    "store_default_results",
    "stored_result",
    "word_kinds",
    "write_terms",
]
