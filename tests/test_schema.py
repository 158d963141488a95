"""Any competition's schema: columns read from the files, labels as they are, the metric, bad input.

Small folders made here (renamed columns, string labels, 2 and 12 classes, two text columns) go
through `run`, `train`, `predict`, `evaluate` and `explore` on the command line.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mathcls.cli import cli
from mathcls.data import load_competition
from mathcls.errors import DataError
from mathcls.metrics import METRICS, get_metric
from mathcls.schema import DataChoices, parse_labels

from .conftest import TOPIC_TEMPLATES

# Tiny and fast: two TF-IDF models, 3 folds, no tuning, no time limit.
TINY = """
seed = 0
cv = 3
[run]
time_limit = "none"
[models.word]
family = "tfidf"
[models.word.params]
min_df = 1
char_ngram_range = "none"
[models.char]
family = "tfidf"
[models.char.params]
min_df = 1
word_ngram_range = "none"
char_ngram_range = [2, 4]
[stack]
meta_n_trials = 0
"""

WORDS = ["apple", "river", "stone", "cloud", "piano", "tiger", "lemon", "rocket", "maple", "violet", "anchor",
         "comet"]


def _texts(k: int, n: int, rng) -> list[str]:
    """Rows of class ``k``: a math topic's template (0..7), or a class word repeated with noise."""
    if k in TOPIC_TEMPLATES:
        templates = TOPIC_TEMPLATES[k]
        return [templates[i % len(templates)].format(a=rng.randint(2, 99), b=rng.randint(2, 99), c=rng.randint(2, 99))
                for i in range(n)]
    return [f"{WORDS[k]} {WORDS[k]} item {rng.randint(2, 999)} of the {WORDS[k]} kind" for _ in range(n)]


def write_folder(root, classes: list, n_per_class=9, columns=("problem",), id_col="uid", target="topic",
                 sample_order=None, n_test=2):
    """A competition folder: ``train.csv`` (text ``columns`` + ``target``), ``test.csv`` (``id_col`` + text),
    ``sample_submission.csv``; returns it and the test labels."""
    rng = random.Random(len(classes))
    train_rows, test_rows = [], []
    for k, label in enumerate(classes):
        for i, text in enumerate(_texts(k, n_per_class + n_test, rng)):
            parts = {c: (text if j == 0 else f"part {j} of {label}") for j, c in enumerate(columns)}
            (train_rows if i < n_per_class else test_rows).append({**parts, target: label})
    root.mkdir(parents=True)
    pd.DataFrame(train_rows).to_csv(root / "train.csv", index=False)
    ids = [f"t{i:03d}" for i in range(len(test_rows))]
    pd.DataFrame([{id_col: i, **{c: r[c] for c in columns}} for i, r in zip(ids, test_rows)]).to_csv(
        root / "test.csv", index=False)
    order = sample_order or (id_col, target)
    pd.DataFrame({id_col: ids, target: classes[0]})[list(order)].to_csv(root / "sample_submission.csv", index=False)
    return root, [r[target] for r in test_rows]


def _cli(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result


STRING_CLASSES = ["Algebra", "Counting & Probability", "Geometry", "Number Theory"]


# ------------------------------------------------------------------ schema from the files
def test_schema_is_read_from_the_files(tmp_path):
    root, _ = write_folder(tmp_path / "d", STRING_CLASSES, columns=("title", "body"), sample_order=("topic", "uid"))
    comp = load_competition(root)
    s = comp.schema
    assert (s.id, s.target, s.text) == ("uid", "topic", ("title", "body"))
    assert s.classes == tuple(sorted(STRING_CLASSES)) and s.label_kind == "str"
    assert s.submission_columns == ("topic", "uid")  # the sample's order
    assert not s.kasut
    row = pd.read_csv(root / "train.csv").iloc[0]
    assert comp.train["Question"].iloc[0] == f"{row['title']}\n{row['body']}"  # both text columns, joined
    assert comp.data_hash != comp.train_sha256[:16]  # the columns read are part of the data's identity
    one = load_competition(root, choices=DataChoices(text=("title",)))
    assert one.schema.text == ("title",) and one.train["Question"].iloc[0] == row["title"]


def test_without_a_sample_the_target_is_the_column_test_lacks():
    from mathcls.schema import resolve_columns

    files = {"train": "train.csv", "test": "test.csv"}
    got = resolve_columns(["id", "problem", "type"], ["id", "problem"], None, DataChoices(), files)
    assert got == ("id", "type", ("problem",), ("id", "type"))
    got = resolve_columns(["problem", "level", "type"], ["qid", "problem", "level"], None, DataChoices(), files)
    assert got[:3] == ("qid", "type", ("problem", "level"))


def test_the_kasut_layout_keeps_its_hash_names_and_metric(competition_dir):
    from mathcls.metrics import default_metric

    comp = load_competition(competition_dir)
    assert comp.schema.kasut and comp.data_hash == comp.train_sha256[:16]
    assert comp.schema.class_name(3) == "Probability and Statistics"
    assert default_metric(comp.schema) == "f1_micro"
    assert comp.train["label"].dtype == np.int64


def test_labels_stay_as_they_are():
    assert parse_labels(["3", "1", "3"], "x").tolist() == [3, 1, 3]
    assert parse_labels(["03", "1"], "x").tolist() == ["03", "1"]  # "03" is written back as "03"
    assert parse_labels(["a b", " c "], "x").tolist() == ["a b", "c"]


@pytest.mark.parametrize("case, files, message", [
    ("sample id not in test", {"sample_submission.csv": "row,topic\nt000,x\n"},
     "names the id column 'row', which .*test.csv does not have"),
    ("target missing from train", {"sample_submission.csv": "uid,answer\nt000,x\n"},
     "has no target column 'answer'"),
    ("sample label not in train", {"sample_submission.csv": "uid,topic\nt000,Topology\n"},
     "has label 'Topology' \\(row 1\\), which .*train.csv never has"),
    ("one class", {"train.csv": "problem,topic\nfind x,Algebra\nfind y,Algebra\n"}, "has only 1 class"),
    ("numeric text column", {"test.csv": "uid,problem,score\nt000,find x,3\n",
                             "train.csv": "problem,score,topic\nfind x,3,Algebra\nfind y,4,Geometry\n"},
     "text column 'score' holds only numbers"),
    ("sample with three columns", {"sample_submission.csv": "uid,topic,extra\nt000,Algebra,1\n"},
     "has 3 columns"),
])
def test_bad_schema_is_one_sentence_before_any_work(tmp_path, case, files, message):
    root, _ = write_folder(tmp_path / "d", STRING_CLASSES)
    for name, text in files.items():
        (root / name).write_text(text)
    args = ["--text-column", "problem", "--text-column", "score"] if case == "numeric text column" else []
    result = _cli("run", "--data", root, "--out", tmp_path / "run", *args)
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert pd.Series([lines[0]]).str.contains(message).all(), lines[0]
    assert not (tmp_path / "run" / "submission.csv").exists()
    with pytest.raises(DataError):
        load_competition(root, choices=DataChoices(text=("problem", "score")) if args else None)


# ------------------------------------------------------------------ the metric registry
def test_metrics_score_known_tables():
    y = np.array([0, 1, 1, 2])
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    assert METRICS["accuracy"].score(y, proba) == 0.75 == METRICS["f1_micro"].score(y, proba)
    # per class F1: class 0 2*1/(1+2), class 1 2*1/(2+1), class 2 1.0
    assert METRICS["f1_macro"].score(y, proba) == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert METRICS["log_loss"].score(y, proba) == pytest.approx(-np.mean(np.log([0.8, 0.7, 0.3, 0.8])))
    assert METRICS["log_loss"].gain(y, proba) < 0 and not METRICS["log_loss"].bias_tuning
    with pytest.raises(Exception, match="Unknown metric 'f1'"):
        get_metric("f1")


def test_bias_tuning_follows_the_metric():
    from mathcls.stacking._bias import tune_bias

    # The rare class overlaps the common one: accuracy is best predicting the common class only,
    # macro-F1 by also taking the rows where the rare class is most likely.
    y = np.r_[np.zeros(90, int), np.ones(10, int)]
    p1 = np.r_[np.linspace(0.30, 0.48, 90), np.linspace(0.44, 0.49, 10)]
    proba = np.column_stack([1 - p1, p1])
    micro = tune_bias(proba, y, metric="f1_micro")
    macro = tune_bias(proba, y, metric="f1_macro")
    macro_of, accuracy_of = METRICS["f1_macro"].score, METRICS["accuracy"].score
    assert macro_of(y, np.log(proba) + macro) > macro_of(y, np.log(proba) + micro)
    assert accuracy_of(y, np.log(proba) + micro) > accuracy_of(y, np.log(proba) + macro)


# ------------------------------------------------------------------ end to end on the command line
@pytest.mark.parametrize("classes, columns, metric", [
    (STRING_CLASSES, ("problem",), None),                      # string labels, renamed columns
    (["no", "yes"], ("problem",), "f1_macro"),                # 2 classes
    ([f"c{k:02d}" for k in range(12)], ("problem",), "log_loss"),  # 12 classes
    ([10, 20, 30], ("title", "body"), None),                  # integer labels, two text columns
], ids=["strings", "two-classes", "twelve-classes", "two-text-columns"])
def test_run_train_predict_evaluate_explore(tmp_path, classes, columns, metric):
    root, truth = write_folder(tmp_path / "d", classes, columns=columns, sample_order=("topic", "uid"))
    config = tmp_path / "tiny.toml"
    config.write_text(TINY if metric is None else
                      TINY.replace('time_limit = "none"', f'time_limit = "none"\nmetric = "{metric}"'))
    out = tmp_path / "run"
    result = _cli("run", "--data", root, "--out", out, "--config", config)
    assert result.exit_code == 0, result.output
    assert result.output.count("Data: text ") == 1  # the schema, printed once
    sub = pd.read_csv(out / "submission.csv", dtype=str)
    assert list(sub.columns) == ["topic", "uid"]  # the sample's columns, in its order
    assert set(sub["topic"]) <= {str(c) for c in classes}
    assert sub["uid"].tolist() == pd.read_csv(root / "test.csv", dtype=str)["uid"].tolist()
    hits = (sub["topic"] == pd.Series([str(t) for t in truth])).mean()
    assert hits > 1.5 / len(classes)  # learnt something: well above chance
    board = pd.read_csv(out / "leaderboard.csv")
    shown = metric or "accuracy"
    assert board.columns[1] == f"oof_{shown}" and set(board["model"]) == {"word", "char", "stack"}
    assert {f"f1 {c}" for c in classes} <= set(board.columns)  # each class's F1, by its name
    assert "f1 " not in result.output.split("Leaderboard")[1].split("Submission:")[0]  # not in the printed one
    values = board[f"oof_{shown}"].tolist()
    assert values == sorted(values, reverse=not shown == "log_loss")
    schema = json.loads((out / "schema.json").read_text())
    assert schema["target"] == "topic" and schema["text"] == list(columns)
    assert json.loads((out / "model" / "manifest.json").read_text())["extra"]["schema"] == schema

    # train a model folder, predict the test file with it, evaluate both on a labelled file
    model = tmp_path / "tfidf"
    result = _cli("train", "tfidf", "--data", root, "--out", model, "-p", "min_df=1", "--cv", "3")
    assert result.exit_code == 0, result.output
    assert ("CV accuracy" in result.output) and "Data: text " in result.output
    pred = tmp_path / "pred.csv"
    result = _cli("predict", "-m", model, "--input", root / "test.csv", "--output", pred, "--proba")
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(pred, dtype=str).columns) == ["topic", "uid"]
    labelled = tmp_path / "valid.csv"
    test = pd.read_csv(root / "test.csv", dtype=str)
    test.drop(columns="uid").assign(topic=truth).to_csv(labelled, index=False)
    result = _cli("evaluate", "--models", model, out / "model", "--data", labelled, "--images", tmp_path / "img",
                  "--output", tmp_path / "eval.csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "eval.csv").set_index("path")
    ours = table.loc[[str(model), str(out / "model")]]  # (the stack's inner folders are listed too)
    assert ours["error"].isna().all() and (ours["accuracy"] > 1.5 / len(classes)).all()
    assert {f"f1_{c}" for c in classes} <= set(table.columns)
    assert ours["confusion_png"].map(lambda p: (tmp_path / "img" / p.rsplit("/", 1)[-1]).is_file()).all()
    result = _cli("explore", "--data", root, "--tokenizer", "whitespace", "--json", tmp_path / "report.json")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert [c["label"] for c in report["train"]["classes"]] == sorted(classes)
    assert str(classes[-1]) in result.output


def test_generation_is_off_for_other_classes_and_says_why(tmp_path):
    root, _ = write_folder(tmp_path / "d", STRING_CLASSES)
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    result = _cli("run", "--data", root, "--out", tmp_path / "run", "--config", config, "--use-generation")
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("Generation: off")]
    assert len(lines) == 1 and "8 Kasut math topics" in lines[0]
    assert not (tmp_path / "run" / "generated").exists()


def test_kasut_folds_do_not_depend_on_the_schema(real_data):
    """The Kasut data reads as before: same labels, so the same folds."""
    from mathcls.folds import make_folds

    comp = load_competition(real_data)
    raw = pd.read_csv(real_data / "train.csv")
    assert comp.schema.kasut and comp.train["label"].tolist() == raw["label"].tolist()
    assert (make_folds(comp.train["label"].to_numpy(), 4, 42) == make_folds(raw["label"].to_numpy(), 4, 42)).all()


def test_a_topic_mapping_turns_generated_rows_into_the_data_classes(tmp_path):
    root, _ = write_folder(tmp_path / "d", STRING_CLASSES)
    config = tmp_path / "tiny.toml"
    mapping = '[generation]\nper_class = 4\n[generation.topics]\n"Algebra" = 0\n"Geometry" = 1\n'
    config.write_text(TINY + mapping)
    out = tmp_path / "run"
    result = _cli("run", "--data", root, "--out", out, "--config", config, "--use-generation")
    assert result.exit_code == 0, result.output
    assert "Generation: off" not in result.output
    # 4 rows per mapped topic (minus duplicates), as the data's own labels
    assert "Using 8 generated rows in the training folds." in result.output
    assert pd.read_csv(out / "generated" / "generated_train.csv")["label"].isin([0, 1]).all()  # stored as topic ids
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY + '[generation.topics]\n"Topology" = 7\n')
    result = _cli("run", "--data", root, "--out", tmp_path / "run2", "--config", bad, "--use-generation")
    assert result.exit_code == 1 and "names 'Topology', which is not a class" in result.stderr
    assert not (tmp_path / "run2" / "folds.json").exists()
