"""Keyword mining: planted words, precision counts, corpora from files and DBs, the CLI."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import DataError
from core.mining import Corpus, contrast, examples, load_corpus, mine, write_terms
from core.store import StoreWriter, reading
from core.store.terms import terms_current

WARDS = ["中央区", "千代田区", "新宿区", "江東区", "渋谷区", "港区"]
PLANTED = {
    "中央区": "市場",
    "千代田区": "皇居",
    "新宿区": "看板",
    "江東区": "倉庫",
    "渋谷区": "交差点",
    "港区": "タワー",
}
FILLER = [
    "建物",
    "道路",
    "歩道",
    "電柱",
    "街路樹",
    "自動車",
    "信号",
    "ベンチ",
    "空",
    "公園",
    "石畳",
    "階段",
    "窓",
    "屋根",
    "自転車",
]
ADJECTIVES = ["古い", "新しい", "大きい", "白い", "高い"]


def planted_rows(per_class: int = 40, seed: int = 1) -> list[dict[str, str]]:
    """Synthetic explanations: shared filler plus each class's planted word (with noise)."""
    rng = random.Random(seed)
    rows = []
    for ward in WARDS:
        for i in range(per_class):
            sentences = [
                f"{rng.choice(ADJECTIVES)}{rng.choice(FILLER)}が見える。",
                f"手前に{rng.choice(FILLER)}と{rng.choice(FILLER)}がある。",
            ]
            if rng.random() < 0.7:
                sentences.insert(rng.randrange(3), f"{PLANTED[ward]}が写っている。")
            if rng.random() < 0.1:  # noise: another class's planted word
                other = rng.choice([w for w in WARDS if w != ward])
                sentences.append(f"遠くに{PLANTED[other]}もある。")
            rows.append({"id": f"{ward}-{i}", "label": ward, "text": "".join(sentences)})
    return rows


def write_csv(path: Path, rows: list[dict[str, str]], columns=("id", "label", "text")) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[list[dict[str, str]], Corpus]:
    rows = planted_rows()
    rows.append({"id": "empty", "label": "港区", "text": "   "})
    path = write_csv(tmp_path_factory.mktemp("corpus") / "corpus.csv", rows)
    return rows, load_corpus(path)


def test_planted_words_rank_top3_with_exact_counts(planted):
    rows, corpus = planted
    result = mine(corpus, top=5, cv=3)
    assert list(result.classes) == sorted(WARDS)
    for ward, word in PLANTED.items():
        top3 = [k.word for k in result.classes[ward][:3]]
        assert word in top3, (ward, top3)
        keyword = next(k for k in result.classes[ward] if k.word == word)
        # counted by hand: documents containing the word / with the word and the label
        m = sum(1 for r in rows if word in r["text"])
        n = sum(1 for r in rows if word in r["text"] and r["label"] == ward)
        assert (keyword.n, keyword.m) == (n, m)
        assert keyword.weight > 0
    assert result.documents == 240 and result.skipped == 1
    assert result.baseline == pytest.approx(1 / 6)
    assert result.text_accuracy > 0.5 and result.folds == 3
    assert result.image_accuracy is None  # the file has no predicted labels


def test_large_corpora_use_fewer_folds(planted, monkeypatch):
    import core.mining.fit

    monkeypatch.setattr(core.mining.fit, "LARGE_CORPUS_DOCS", 100)
    result = mine(planted[1], top=1, cv=5)
    assert result.folds == core.mining.fit.LARGE_CORPUS_FOLDS == 3
    assert "(3 分割交差検証)" in result.summary()  # a Japanese corpus: its language
    assert "(3-fold CV)" in result.in_lang("en").summary()


def test_outputs(planted):
    _, corpus = planted
    result = mine(corpus, top=3, classes=["港区", "新宿区"], cv=0)
    assert list(result.classes) == ["港区", "新宿区"] and result.text_accuracy is None
    md = result.to_markdown()
    assert md.splitlines()[0] == "| 順位 | 港区 | 新宿区 |"  # headers in the corpus's language
    assert result.in_lang("en").to_markdown().splitlines()[0] == "| rank | 港区 | 新宿区 |"
    assert "タワー(" in md and "文書数 240" in md and "除外 1" in md  # the corpus's language
    rows = list(csv.reader(result.to_csv().splitlines()))
    assert rows[0] == ["順位", "港区", "新宿区"] and len(rows) == 4
    data = json.loads(result.to_json())
    assert set(data) >= {
        "classes",
        "text_accuracy",
        "image_accuracy",
        "baseline",
        "documents",
        "skipped",
    }
    assert set(data["classes"]["港区"][0]) == {
        *("word", "n", "m", "weight"),  # the seed's keys, kept
        *("precision_low", "rank", "kind", "attribute_of"),  # issue 21: the rank, the layout
    }
    with pytest.raises(DataError, match="unknown class"):
        mine(corpus, classes=["大阪"], cv=0)


def test_min_df_and_stopwords(planted):
    _, corpus = planted
    result = mine(corpus, top=50, cv=0, stopwords=["タワー"])
    assert all(k.word != "タワー" for kws in result.classes.values() for k in kws)
    result = mine(corpus, top=50, cv=0, min_df=30)
    assert all(k.m >= 30 for kws in result.classes.values() for k in kws)


def test_two_classes_use_both_signs_of_the_binary_model(tmp_path):
    rows = [r for r in planted_rows() if r["label"] in ("港区", "新宿区")]
    result = mine(load_corpus(write_csv(tmp_path / "two.csv", rows)), top=3, cv=3)
    assert "タワー" in [k.word for k in result.classes["港区"]]
    assert "看板" in [k.word for k in result.classes["新宿区"]]


def test_contrast_classes_and_words(planted):
    _, corpus = planted
    by_class = contrast(corpus, "港区", "新宿区", top=3)
    assert by_class.kind == "classes"
    side_a = [r["word"] for r in by_class.rows if r["side"] == "港区"]
    side_b = [r["word"] for r in by_class.rows if r["side"] == "新宿区"]
    assert side_a[0] == "タワー" and side_b[0] == "看板"
    by_word = contrast(corpus, "タワー", "看板")
    assert by_word.kind == "words"
    row = next(r for r in by_word.rows if r["class"] == "港区")
    assert row["n_a"] > row["n_b"] and "港区" in by_word.to_markdown()
    with pytest.raises(DataError, match="neither a class"):
        contrast(corpus, "タワー", "存在しない語彙")
    with pytest.raises(DataError, match="two classes or two words"):
        contrast(corpus, "港区", "タワー")
    assert all(
        r["word"] != "タワー" for r in contrast(corpus, "港区", "新宿区", stopwords=["タワー"]).rows
    )


def test_examples_give_the_sentence(planted):
    _, corpus = planted
    found = examples(corpus, "倉庫", cls="江東区", limit=5)
    assert 0 < len(found) <= 5
    assert all(e.label == "江東区" and "倉庫" in e.sentence for e in found)
    assert all(e.sentence != e.text for e in found)  # one sentence, not the whole text
    assert examples(corpus, "未知語") == []


def test_file_errors(tmp_path):
    path = write_csv(tmp_path / "bad.csv", planted_rows(3), columns=("id", "text"))
    with pytest.raises(DataError, match="label"):
        load_corpus(path)
    one = write_csv(tmp_path / "one.csv", [r for r in planted_rows(5) if r["label"] == "港区"])
    with pytest.raises(DataError, match="at least 2 classes"):
        mine(load_corpus(one))
    with pytest.raises(DataError, match="no such file"):
        load_corpus(tmp_path / "missing.csv")


def test_jsonl_english_corpus(tmp_path):
    rng = random.Random(0)
    lines = []
    for label, word in (("harbor", "boats"), ("station", "trains")):
        for i in range(20):
            filler = rng.sample(["buildings", "cars", "trees", "roads", "people"], 2)
            text = f"The {filler[0]} and {filler[1]} are visible." + (
                f" Several {word} were parked." if i % 5 else ""
            )
            lines.append(json.dumps({"id": f"{label}{i}", "label": label, "text": text}))
    path = tmp_path / "en.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = mine(load_corpus(path, lang="en"), top=3, cv=2)
    assert result.classes["harbor"][0].word == "boat"
    assert result.classes["station"][0].word == "train"


def build_db(path: Path) -> dict[int, list[str]]:
    """A tiny DB: one run, 3 classes x 4 images, one failed image, one empty explanation."""
    from core.text import tokenize

    words = {"港区": "タワー", "新宿区": "看板", "江東区": "倉庫"}
    tokens_by_image: dict[int, list[str]] = {}
    with StoreWriter(path) as store:
        con = store.con
        con.execute(
            "INSERT INTO runs (run_id, kind, lang, status) VALUES (1, 'images', 'ja', 'done')"
        )
        image_id = 0
        for label, word in words.items():
            for i in range(4):
                image_id += 1
                pred = label if i < 3 else "港区"
                text = f"{word}が見える。古い建物に面している。" if i < 3 else "古い建物が見える。"
                con.execute(
                    "INSERT INTO images (image_id, run_id, path, true_label, pred_label, status) "
                    "VALUES (?, 1, ?, ?, ?, 'done')",
                    [image_id, f"{label}/{i}.jpg", label, pred],
                )
                con.execute(
                    "INSERT INTO explanations (image_id, run_id, text) VALUES (?, 1, ?)",
                    [image_id, text],
                )
                if image_id != 2:  # one explanation without stored tokens: tokenized on load
                    tokens_by_image[image_id] = tokenize(text)
                    con.execute(
                        "INSERT INTO tokens (image_id, run_id, tokens) VALUES (?, 1, ?)",
                        [image_id, tokens_by_image[image_id]],
                    )
        con.execute(
            "INSERT INTO images (image_id, run_id, path, status, error) "
            "VALUES (100, 1, 'broken.jpg', 'failed', 'truncated')"
        )
        con.execute(
            "INSERT INTO images (image_id, run_id, path, true_label, status) "
            "VALUES (101, 1, 'blank.jpg', '港区', 'done')"
        )
        con.execute("INSERT INTO explanations (image_id, run_id, text) VALUES (101, 1, '')")
    return tokens_by_image


def test_db_corpus(tmp_path):
    db = tmp_path / "w.duckdb"
    build_db(db)
    corpus = load_corpus(db)
    assert len(corpus) == 12 and corpus.skipped == 2 and corpus.run_id == 1
    result = mine(corpus, top=2, min_df=1, cv=2)
    assert result.classes["江東区"][0].word == "倉庫"
    assert (result.classes["江東区"][0].n, result.classes["江東区"][0].m) == (3, 3)
    assert result.classes["新宿区"][0].word == "看板"  # image 2 was tokenized on load
    assert result.image_accuracy == pytest.approx(10 / 12)
    assert result.skipped == 2 and result.documents == 12
    predicted = mine(load_corpus(db, by="predicted"), top=2, min_df=1, cv=0)
    assert predicted.class_counts["港区"] == 6
    found = examples(corpus, "面し")  # the surface form finds the lemma 面す
    assert found and all("面し" in e.sentence for e in found)
    assert found[0].path and found[0].image_id is not None
    with pytest.raises(DataError, match="no run 7"):
        load_corpus(db, run_id=7)


def _pair_set(corpus: Corpus) -> set[tuple[str, str]]:
    return {
        (corpus.doc_ids[d], str(corpus.vocab[k]))
        for d, k in zip(corpus.doc_index, corpus.term_index, strict=True)
    }


def test_write_terms(tmp_path):
    db = tmp_path / "w.duckdb"
    tokens_by_image = build_db(db)
    from_tokens = load_corpus(db)  # no terms yet: unnests the token lists
    with StoreWriter(db) as store:
        counts = write_terms(store.con, 1, min_df=1)
        again = write_terms(store.con, 1, min_df=2)  # rebuilds, no duplicates
        terms = dict(store.con.execute("SELECT term, df FROM terms WHERE run_id = 1").fetchall())
        pairs = store.con.execute(
            "SELECT d.image_id, t.term FROM doc_terms d JOIN terms t "
            "ON t.run_id = d.run_id AND t.term_id = d.term_id WHERE d.run_id = 1"
        ).fetchall()
    expected_df: dict[str, int] = {}
    for tokens in tokens_by_image.values():
        for term in set(tokens):
            expected_df[term] = expected_df.get(term, 0) + 1
    assert counts["terms"] == len(expected_df)
    assert terms == {t: n for t, n in expected_df.items() if n >= 2}
    assert again == {"terms": len(terms), "doc_terms": len(pairs)}
    assert sorted(pairs) == sorted(
        (i, t) for i, toks in tokens_by_image.items() for t in set(toks) if expected_df[t] >= 2
    )
    with StoreWriter(db) as store:
        write_terms(store.con, 1)
    with reading(db) as con:
        assert terms_current(con, 1)
    with StoreWriter(db) as store:
        write_terms(store.con, 1, min_df=4)  # leaves words out: mining unnests tokens
    with reading(db) as con:
        assert not terms_current(con, 1)
    with StoreWriter(db) as store:
        write_terms(store.con, 1)
    from_terms = load_corpus(db)  # read from terms/doc_terms now
    assert list(from_terms.vocab) == list(from_tokens.vocab)
    assert _pair_set(from_terms) == _pair_set(from_tokens)
    assert mine(from_terms, min_df=1, cv=0).classes == mine(from_tokens, min_df=1, cv=0).classes


def test_cli_mine_does_not_import_torch():
    code = (
        "import sys, core.cli, core.cli.mine, core.mining, core.text, core.store; "
        "core.cli.build_parser(); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "core", "mine", "--help"], capture_output=True, check=True
    )
    assert time.monotonic() - start < 5


def test_cli_mine_formats_and_errors(tmp_path, capsys):
    from core.cli import main

    db = tmp_path / "w.duckdb"
    build_db(db)

    def wordcam(*args):
        code = main(["mine", *args])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = wordcam("--db", str(db), "--min-df", "1", "--top", "2", "--cv", "2")
    assert code == 0, err
    assert out.startswith("| 順位 |") and "倉庫(3/3)" in out  # the run's language (issue 23)
    assert "単語 → ラベルの正解率" in out and "除外 2" in out  # the run's language (issue 23)
    code, out, err = wordcam("--db", str(db), "--min-df", "1", "--cv", "0", "--lang", "en")
    assert code == 0 and out.startswith("| rank |"), err
    data = json.loads(wordcam("--db", str(db), "--min-df", "1", "--format", "json")[1])
    assert data["documents"] == 12
    code, out, _ = wordcam("--db", str(db), "--examples", "倉庫", "--class", "江東区")
    assert code == 0 and "倉庫が見える。" in out
    code, out, _ = wordcam("--db", str(db), "--min-df", "1", "--contrast", "タワー", "倉庫")
    assert code == 0 and out.startswith("| クラス | 文書数 | タワー n/m | タワー 適合率 |")
    code, out, _ = wordcam("--db", str(db), "--contrast", "タワー", "倉庫", "--lang", "en")
    assert code == 0 and out.startswith("| class | documents | タワー n/m | タワー precision |")
    code, out, _ = wordcam("--db", str(db), "--min-df", "1", "--contrast", "港区", "江東区")
    assert code == 0 and out.startswith("| 側 | 単語 | 港区(") and "文書中)" in out
    stop = tmp_path / "stop.txt"
    stop.write_text("倉庫  # a comment\n", encoding="utf-8")
    code, out, _ = wordcam("--db", str(db), "--min-df", "1", "--stopwords", str(stop), "--cv", "0")
    assert code == 0 and "倉庫" not in out
    code, _, err = wordcam("--db", str(tmp_path / "none.duckdb"))
    assert code == 1 and "no database" in err


def test_cli_error_in_a_subprocess_has_no_traceback(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "core", "mine", str(tmp_path / "missing.csv")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1 and "no such file" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_bench_mine_quick():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_mine.py"
    spec = importlib.util.spec_from_file_location("bench_mine", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.run_benchmark(quick=True)
    assert result["docs"] == 5000 and len(result["wall_s"]) == 1
    assert any(f"{word} 5000" in result["summary"] for word in ("documents", "文書数"))  # ja run


# ------------------------------------------------------------------ stored keyword tables


def planted_db(tmp_path: Path, per_class: int = 30) -> Path:
    """A text corpus imported as the precompute job does it (which stores keyword tables)."""
    from core.jobs import import_texts

    db = tmp_path / "planted.duckdb"
    import_texts(write_csv(tmp_path / "planted.csv", planted_rows(per_class)), db, progress=False)
    return db


def test_precompute_stores_the_default_keyword_table(tmp_path):
    from core.mining import STORED_TOP, MiningSettings, mine_source, stored_result

    db = planted_db(tmp_path)
    fresh = mine(load_corpus(db), top=STORED_TOP)
    with reading(db) as con:
        stored = stored_result(con, 1)
        assert stored_result(con, 1, MiningSettings(min_df=3)) is None  # other settings: no table
        # a text corpus has no predictions
        assert stored_result(con, 1, MiningSettings(by="predicted")) is None
        rows = con.execute("SELECT count(*) FROM mining WHERE run_id = 1").fetchone()[0]
    assert rows == 1
    assert stored is not None and stored.to_json() == fresh.to_json()
    assert stored.text_accuracy is not None and stored.folds == 5
    # mine_source answers from the stored table, narrowed and laid out as a fresh fit is
    shown = ["港区", "中央区"]
    assert mine_source(db, top=3, classes=shown).to_json() == (
        _laid_out(db, MiningSettings(top=3), classes=shown).to_json()
    )
    with pytest.raises(DataError, match="unknown class"):
        mine_source(db, classes=["品川区"])
    # settings without a table are fit: the same as mine() with them, laid out
    assert mine_source(db, min_df=3, stopwords=["市場"]).to_json() == (
        _laid_out(db, MiningSettings(min_df=3), min_df=3, stopwords=["市場"]).to_json()
    )


def _laid_out(db: Path, settings, **fit):
    """mine()'s candidates (STORED_TOP words per class) laid out as the table shows them."""
    from core.mining import STORED_TOP
    from core.mining.arrange import arrange
    from core.store.word_owners import term_kinds

    result = mine(load_corpus(db), top=STORED_TOP, **fit)
    words = [k.word for kws in result.classes.values() for k in kws]
    with reading(db) as con:
        kinds = term_kinds(con, 1, words)
    return arrange(result, settings, kinds)


def test_stored_table_is_ignored_once_the_run_changes(tmp_path):
    from core.mining import mine_source, stored_result

    db = planted_db(tmp_path)
    with StoreWriter(db) as store:  # relabel one document, as a resumed job might change it
        store.con.execute("UPDATE images SET true_label = '港区' WHERE path = '中央区-0'")
    with reading(db) as con:
        assert stored_result(con, 1) is None
    assert mine_source(db).class_counts["港区"] == 31
    with StoreWriter(db) as store:  # a DB from before stored tables: fit as before
        store.con.execute("DROP TABLE mining")
    with reading(db) as con:
        assert stored_result(con, 1) is None
    assert mine_source(db).class_counts["港区"] == 31


def test_cli_mine_answers_stored_table_without_scikit_learn(tmp_path):
    db = planted_db(tmp_path)
    code = (
        "import sys; from core.cli import main; "
        f"rc = main(['mine', '--db', {str(db)!r}, '--top', '3']); "
        "print('sklearn' in sys.modules, 'scipy' in sys.modules, rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False False 0")
    assert "| 1 |" in out.stdout and "(5 分割交差検証)" in out.stdout  # a ja run (issue 23)
    refit = subprocess.run(
        [sys.executable, "-m", "core", "mine", "--db", str(db), "--min-df", "3", "--top", "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "| 1 |" in refit.stdout


# ------------------------------------------------------------------ one image accuracy


def test_image_accuracy_is_the_runs_in_the_miner_the_stored_table_and_the_cli(tmp_path, capsys):
    from core.cli import main
    from core.mining import mine_source, store_default_results
    from core.store.metrics import image_accuracy

    db = tmp_path / "w.duckdb"
    build_db(db)
    with StoreWriter(db) as store:  # a finished photo without an explanation: not mined
        store.con.execute(
            "INSERT INTO images (image_id, run_id, path, true_label, pred_label, status) "
            "VALUES (102, 1, '江東区/9.jpg', '江東区', '港区', 'done')"
        )
    with reading(db) as con:
        expected = image_accuracy(con, 1)
    assert expected == pytest.approx(10 / 13)  # the run's photos, not only the 12 mined
    assert mine(load_corpus(db), min_df=1, cv=0).image_accuracy == expected
    assert mine(load_corpus(db, by="predicted"), min_df=1, cv=0).image_accuracy == expected
    with StoreWriter(db) as store:
        write_terms(store.con, 1)
        assert store_default_results(store.con, 1) == ["true", "predicted"]
    assert mine_source(db).image_accuracy == expected  # answered from the stored table
    assert main(["mine", "--db", str(db)]) == 0
    assert f"画像モデルの正解率 {expected:.3f}" in capsys.readouterr().out  # a ja run
    assert main(["mine", "--db", str(db), "--min-df", "1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["image_accuracy"] == expected


def test_image_accuracy_of_a_file_counts_every_row(tmp_path):
    from core.store.metrics import image_accuracy_of

    rows = [
        {**r, "pred_label": r["label"] if i % 4 else "港区"} for i, r in enumerate(planted_rows(5))
    ]
    rows.append({"id": "empty", "label": "港区", "pred_label": "中央区", "text": ""})
    path = write_csv(tmp_path / "p.csv", rows, columns=("id", "label", "text", "pred_label"))
    expected = image_accuracy_of([r["label"] for r in rows], [r["pred_label"] for r in rows])
    assert mine(load_corpus(path), cv=0).image_accuracy == pytest.approx(expected)
    assert image_accuracy_of(["a", "b", None], ["a", "a", "a"], classes=["b"]) == 0.0
    assert image_accuracy_of(["a"], [None]) is None


# ------------------------------------------------------------------ the one corpus-file reader


def test_corpus_file_reader_gives_the_text_import_its_triples_and_errors(tmp_path):
    from core.mining import id_label_text, read_text_records

    good = tmp_path / "c.jsonl"
    good.write_text(
        '{"id": " a1 ", "label": " 港区 ", "text": "タワー", "pred_label": "港区"}\n\n'
        '{"id": 2, "label": "", "text": null}\n',
        encoding="utf-8",
    )
    assert list(id_label_text(good)) == [
        ("a1", "港区", "タワー"),
        ("2", None, ""),
    ]
    assert next(read_text_records(good)).pred_label == "港区"
    cases = {  # file -> what its one-line error must name
        "cols.csv": ("id,category,body\n1,a,b\n", "missing column(s) label, text"),
        "cols.jsonl": (
            '{"id": 1, "label": "a", "text": "x"}\n{"id": 2, "text": "y"}\n',
            "line 2: missing column(s) label",
        ),
        "json.jsonl": ("{not json}\n", "line 1: not valid JSON"),
        "list.jsonl": ("[1, 2]\n", "line 1: expected a JSON object"),
        "dup.csv": ("id,label,text\n1,a,x\n1,b,y\n", "duplicate id '1' (line 3)"),
        "dup.jsonl": (
            '{"id": 1, "label": "a", "text": "x"}\n{"id": 1, "label": "a", "text": "x"}\n',
            "duplicate id '1' (line 2)",
        ),
        "empty.csv": ("id,label,text\n ,a,x\n", "line 2: empty id"),
    }
    for name, (content, named) in cases.items():
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        with pytest.raises(DataError) as error:
            list(id_label_text(path))
        assert named in str(error.value), (name, str(error.value))
    with pytest.raises(DataError, match="no such file"):
        list(id_label_text(tmp_path / "missing.csv"))
    txt = tmp_path / "c.txt"
    txt.write_text("id,label,text\n", encoding="utf-8")
    with pytest.raises(DataError, match="unknown text file type .txt"):
        list(id_label_text(txt))
    tsv = tmp_path / "c.tsv"
    tsv.write_text("id\tlabel\ttext\nx\t港区\tタワーが見える。\n", encoding="utf-8")
    assert list(id_label_text(tsv)) == [("x", "港区", "タワーが見える。")]
