import json

import numpy as np
import pytest

from mathcls.errors import ModelFolderError
from mathcls.models.tfidf import TfidfLogReg
from mathcls.persist import MANIFEST, load_model, read_manifest, save_model


@pytest.fixture(scope="module")
def model(corpus):
    texts, y = corpus
    return TfidfLogReg(min_df=1, word_ngram_range=(1, 3)).fit(texts, y)


def test_manifest_contents(model, tmp_path):
    folder = save_model(model, tmp_path / "m", train_sha256="ab" * 32, extra={"cv_f1_micro": 0.9})
    m = read_manifest(folder)
    assert m["format"] == "mathcls-model" and m["format_version"] == 1
    assert m["model"] == "tfidf" and m["class"].endswith("TfidfLogReg")
    assert m["classes"] == list(range(8)) and m["label_names"]["6"] == "Linear Algebra"
    assert m["train_sha256"] == "ab" * 32 and m["created"] and m["mathcls_version"]
    assert m["params"]["word_ngram_range"] == {"__tuple__": [1, 3]}
    assert load_model(folder).word_ngram_range == (1, 3)


def test_load_with_replaced_parameters(model, tmp_path):
    folder = save_model(model, tmp_path / "m")
    loaded = load_model(folder, params={"normalize": False})
    assert loaded.normalize is False and loaded.word_ngram_range == (1, 3)
    with pytest.raises(ModelFolderError, match="without parameter 'no_such'; its parameters are: C, "):
        load_model(folder, params={"no_such": 1})


def test_replaces_existing_model_but_not_other_folders(model, tmp_path):
    folder = save_model(model, tmp_path / "m")
    save_model(model, folder)  # overwrite a model folder: fine
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(ModelFolderError, match="not a mathcls model folder"):
        save_model(model, other)
    assert (other / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "notes"]  # no temp leftovers


def test_interrupted_save_leaves_nothing(model, tmp_path, monkeypatch):
    def boom(folder):
        (folder / "half.bin").write_bytes(b"x")
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "_save_payload", boom)
    with pytest.raises(KeyboardInterrupt):
        save_model(model, tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_overwrite_keeps_the_old_model(model, corpus, tmp_path, monkeypatch):
    folder = save_model(model, tmp_path / "m")
    before = load_model(folder).predict_proba(corpus[0])
    monkeypatch.setattr(model, "_save_payload", lambda f: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        save_model(model, folder)
    np.testing.assert_allclose(load_model(folder).predict_proba(corpus[0]), before)


@pytest.mark.parametrize("mutate, message", [
    (lambda m: m.update(format_version=99), "format version 99"),
    (lambda m: m.update(format="something-else"), "not a mathcls manifest"),
    (lambda m: m.update(model="evil"), "unknown family 'evil'"),
])
def test_refuses_unknown_formats(model, tmp_path, mutate, message):
    folder = save_model(model, tmp_path / "m")
    manifest = json.loads((folder / MANIFEST).read_text())
    mutate(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelFolderError, match=message):
        load_model(folder)


def test_missing_or_broken_folder(tmp_path):
    with pytest.raises(ModelFolderError, match="does not exist"):
        load_model(tmp_path / "nothing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ModelFolderError, match="no manifest.json"):
        load_model(tmp_path / "plain")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / MANIFEST).write_text("{not json")
    with pytest.raises(ModelFolderError, match="not valid JSON"):
        load_model(tmp_path / "bad")


def test_missing_payload(model, tmp_path):
    folder = save_model(model, tmp_path / "m")
    (folder / "tfidf.skops").unlink()
    with pytest.raises(ModelFolderError, match="missing tfidf.skops"):
        load_model(folder)


def test_payload_with_untrusted_type_is_refused(model, tmp_path):
    """A model folder from the internet must not run code: skops files holding any type outside
    scikit-learn/numpy/scipy are refused before anything is constructed."""
    import skops.io as sio

    folder = save_model(model, tmp_path / "m")
    sio.dump({"vectorizer": model.vectorizer_, "classifier": model.classifier_, "x": json.dumps},
             folder / "tfidf.skops")
    with pytest.raises(ModelFolderError, match="will not load"):
        load_model(folder)


def test_vocabularies_round_trip_as_flat_arrays(model, tmp_path):
    """Vocabularies are stored as two arrays (skops would write a dict entry by entry, minutes for
    a min_df=1 model); every term, including LaTeX and non-ASCII ones, keeps its column."""
    from mathcls.models.tfidf import _pack_vocabulary, _unpack_vocabulary

    vocab = {"\\frac{a}{b}": 2, "π r²": 0, "x": 3, " ∫ ": 1, "": 4}
    packed = _pack_vocabulary(vocab)
    assert packed["data"].dtype == np.uint8 and packed["ends"].tolist()[-1] == packed["data"].size
    assert _unpack_vocabulary(packed) == vocab

    before = {name: dict(v.vocabulary_) for name, v in model.vectorizer_.transformer_list}
    loaded = load_model(save_model(model, tmp_path / "m"))
    after = {name: v.vocabulary_ for name, v in loaded.vectorizer_.transformer_list}
    assert after == before and sum(map(len, after.values())) > 100
    # saving leaves the fitted model as it was
    assert {name: v.vocabulary_ for name, v in model.vectorizer_.transformer_list} == before
