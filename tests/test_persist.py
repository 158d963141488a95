import json

import numpy as np
import pytest

from mathcls.data import file_sha256
from mathcls.errors import ModelFolderError
from mathcls.models.tfidf import TfidfLogReg
from mathcls.persist import MANIFEST, load_model, read_manifest, save_model
from tests.conftest import rehash_payload


@pytest.fixture(scope="module")
def model(corpus):
    texts, y = corpus
    return TfidfLogReg(min_df=1, word_ngram_range=(1, 3)).fit(texts, y)


def test_manifest_contents(model, tmp_path):
    folder = save_model(model, tmp_path / "m", train_sha256="ab" * 32, extra={"cv_f1_micro": 0.9})
    m = read_manifest(folder)
    assert m["format"] == "mathcls-model" and m["format_version"] == 2
    assert m["payload_sha256"]["tfidf.skops"] == file_sha256(folder / "tfidf.skops")
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
    with pytest.raises(ModelFolderError, match="tfidf.skops is missing"):
        load_model(folder)


def test_payload_with_untrusted_type_is_refused(model, tmp_path):
    """A model folder from the internet must not run code: skops files holding any type outside
    scikit-learn/numpy/scipy are refused before anything is constructed."""
    import skops.io as sio

    folder = save_model(model, tmp_path / "m")
    sio.dump({"vectorizer": model.vectorizer_, "classifier": model.classifier_, "x": json.dumps},
             folder / "tfidf.skops")
    with pytest.raises(ModelFolderError, match="does not match its sha256"):
        load_model(folder)
    rehash_payload(folder)  # a crafted folder would carry matching hashes: the allow-list still holds
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


# ---- a model folder checked against itself: every corruption is refused with one sentence ----
def _edit_manifest(edit):
    def apply(folder):
        manifest = json.loads((folder / MANIFEST).read_text())
        edit(manifest)
        (folder / MANIFEST).write_text(json.dumps(manifest))
    return apply


def _drop(field):
    return _edit_manifest(lambda m: m.pop(field))


def _set(field, value):
    return _edit_manifest(lambda m: m.update({field: value}))


def _truncate(folder):
    data = (folder / "tfidf.skops").read_bytes()
    (folder / "tfidf.skops").write_bytes(data[: len(data) // 2])


def _flip_byte(folder):
    data = bytearray((folder / "tfidf.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "tfidf.skops").write_bytes(bytes(data))


def _other_payload(classes, rehash):
    """Replace the payload by that of a model fitted on ``classes`` (optionally with matching hashes)."""
    def apply(folder):
        from tests.conftest import make_corpus

        texts, y = make_corpus(4, seed=3, classes=classes)
        other = save_model(TfidfLogReg(min_df=1).fit(texts, y), folder.parent / "other")
        (folder / "tfidf.skops").write_bytes((other / "tfidf.skops").read_bytes())
        if rehash:
            rehash_payload(folder)
    return apply


def _other_family(family):
    """A manifest that names another family (and that family's class) consistently."""
    def edit(manifest):
        from mathcls.models import get_model_class

        cls = get_model_class(family)
        manifest.update(model=family, **{"class": f"{cls.__module__}.{cls.__qualname__}"})
    return _edit_manifest(edit)


def _payload_classes_reordered(folder):
    """A payload whose stored class order differs from the manifest's, with matching hashes."""
    import skops.io as sio

    from mathcls.persist import safe_skops_load

    payload = safe_skops_load(folder / "tfidf.skops")
    payload["classes"] = payload["classes"][::-1]
    sio.dump(payload, folder / "tfidf.skops")
    rehash_payload(folder)


MANIFEST_FIELDS = ["mathcls_version", "class", "params", "classes", "classes_dtype", "label_names",
                   "train_sha256", "created", "extra", "payload_sha256"]

# (case, corruption, fragment of the one-sentence refusal)
CORRUPTIONS = [
    *[(f"drop {f}", _drop(f), f"no '{f}' field") for f in MANIFEST_FIELDS],
    ("drop format", _drop("format"), "not a mathcls manifest"),
    ("drop format_version", _drop("format_version"), "no 'format_version' field"),
    ("drop model", _drop("model"), "unknown family None"),
    ("format_version as text", _set("format_version", "2"), "format version '2'"),
    ("params as a list", _set("params", [["C", 1.0]]), "'params' must be an object"),
    ("params with a bad value", _edit_manifest(lambda m: m["params"].update(C=-1)), "do not build a TfidfLogReg"),
    ("params with an unknown name", _edit_manifest(lambda m: m["params"].update(bogus=1)), "do not build a TfidfLogReg"),
    ("classes reordered", _edit_manifest(lambda m: m["classes"].reverse()), "class order"),
    ("3 classes instead of 8", _edit_manifest(lambda m: m.update(classes=m["classes"][:3])), "lists 3 classes"),
    ("classes repeated", _edit_manifest(lambda m: m.update(classes=[0] * 8)), "repeats a class"),
    ("classes not numbers", _set("classes", list("abcdefgh")), "are not of kind 'int'"),
    ("classes as text", _set("classes", "0,1,2"), "'classes' must be a list"),
    ("classes_dtype unknown", _set("classes_dtype", "complex"), "'classes_dtype' must be"),
    ("family does not match class", _set("model", "setfit"), "does not match its class"),
    ("class does not match family", _set("class", "os.system"), "does not match its class"),
    ("family and class of another family", _other_family("setfit"),
     "names family 'setfit' but its payload was written by 'tfidf'"),
    ("train_sha256 malformed", _set("train_sha256", "abc"), "'train_sha256' must be"),
    ("payload hashes empty", _set("payload_sha256", {}), "'payload_sha256' must be"),
    ("payload hash altered", _edit_manifest(lambda m: m["payload_sha256"].update({"tfidf.skops": "0" * 64})),
     "does not match its sha256"),
    ("payload path outside", _edit_manifest(lambda m: m["payload_sha256"].update({"../x": "0" * 64})),
     "outside the folder"),
    ("manifest truncated", lambda f: (f / MANIFEST).write_text((f / MANIFEST).read_text()[:50]), "not valid JSON"),
    ("manifest a list", lambda f: (f / MANIFEST).write_text("[]"), "not a mathcls manifest"),
    ("payload truncated", _truncate, "does not match its sha256"),
    ("payload byte flipped", _flip_byte, "does not match its sha256"),
    ("payload deleted", lambda f: (f / "tfidf.skops").unlink(), "tfidf.skops is missing"),
    ("payload replaced", _other_payload([0, 1, 2, 3, 4, 5, 6, 7], rehash=False), "does not match its sha256"),
    ("payload of 3 classes, hashes matching", _other_payload([0, 1, 2], rehash=True), "holds 3"),
    ("payload class order differs, hashes matching", _payload_classes_reordered, "class order"),
]


@pytest.mark.parametrize("case, corrupt, fragment", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_corrupted_model_folder_is_refused_in_one_sentence(model, tmp_path, case, corrupt, fragment):
    folder = save_model(model, tmp_path / "m", train_sha256="ab" * 32)
    corrupt(folder)
    with pytest.raises(ModelFolderError) as info:
        load_model(folder)
    message = str(info.value)
    assert fragment in message, message
    assert str(folder) in message and "\n" not in message and message.endswith("."), message


def test_format_1_folder_without_hashes_still_loads(model, corpus, tmp_path):
    """Documented: folders written before payload hashes load, with every other check."""
    folder = save_model(model, tmp_path / "m")
    _edit_manifest(lambda m: (m.pop("payload_sha256"), m.update(format_version=1)))(folder)
    np.testing.assert_allclose(load_model(folder).predict_proba(corpus[0]), model.predict_proba(corpus[0]))
    _edit_manifest(lambda m: m["classes"].reverse())(folder)
    with pytest.raises(ModelFolderError, match="class order"):
        load_model(folder)


def test_extra_files_in_a_model_folder_are_ignored(model, corpus, tmp_path):
    folder = save_model(model, tmp_path / "m")
    (folder / "NOTES.md").write_text("trained on Tuesday")
    np.testing.assert_allclose(load_model(folder).predict_proba(corpus[0]), model.predict_proba(corpus[0]))


def test_saving_keeps_the_run_outputs_training_wrote_beside_the_model(model, tmp_path):
    """`mathcls train --out OUT` writes OUT/checkpoints and OUT/logs before the model itself."""
    out = tmp_path / "out"
    (out / "checkpoints" / "checkpoint-3").mkdir(parents=True)
    (out / "checkpoints" / "checkpoint-3" / "marker.txt").write_text("epoch 1")
    (out / "logs").mkdir()
    (out / "logs" / "events").write_text("tb")
    save_model(model, out)  # a folder holding only run outputs is a fine target
    save_model(model, out)  # and replacing the model keeps them
    assert (out / MANIFEST).is_file()
    assert (out / "checkpoints" / "checkpoint-3" / "marker.txt").read_text() == "epoch 1"
    assert (out / "logs" / "events").read_text() == "tb"
    assert not [p for p in tmp_path.iterdir() if p.name != "out"]  # no temporary folders left
    other = tmp_path / "other"
    (other / "logs").mkdir(parents=True)
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ModelFolderError, match="is not empty and is not a mathcls model folder"):
        save_model(model, other)
