"""The on-disk embedding/tokenisation cache and the cached ``encode`` helper, on the real bundled MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from mathcls import embeddings
from mathcls.embeddings import cache_info, embedding_cache_dir, encode, reset_cache_info, tokenize

TEXTS = ["Solve for x: 3x + 1 = 7.", "Find the area of a circle of radius 2.", "b'Solve 0 = -i for i.\\n'"]


@pytest.fixture(autouse=True)
def _fresh_counters(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reset_cache_info()
    embeddings._MEMO.clear()  # forget shards read by other tests: each test sees only its own cache folder
    yield
    embeddings._MEMO.clear()


def test_encode_shape_dtype_and_unit_norm():
    X = encode(TEXTS, max_length=32)
    assert X.shape == (3, 384) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)  # MiniLM ends with Normalize
    assert cache_info() == {"hits": 0, "misses": 3}


def test_second_call_is_served_from_disk_cache():
    first = encode(TEXTS, max_length=32)
    embeddings._MEMO.clear()  # as in a new process: only the shards on disk remain
    second = encode(TEXTS[::-1], max_length=32)
    np.testing.assert_array_equal(second, first[::-1])
    assert cache_info() == {"hits": 3, "misses": 3}
    shards = list(embedding_cache_dir().glob("embeddings-*/shard-*.npz"))
    assert len(shards) == 1
    with np.load(shards[0], allow_pickle=False) as data:  # plain arrays, no pickled objects
        assert data["values"].shape == (3, 384)
        assert data["keys"].dtype.kind == "S"


@pytest.mark.parametrize("change", [{"max_length": 16}, {"normalize": False}, {"normalize": "verbalize"}])
def test_key_includes_max_length_and_normalisation(change):
    encode(TEXTS, max_length=32)
    encode(TEXTS, **{"max_length": 32, **change})
    assert cache_info()["misses"] == 6


def test_duplicates_are_encoded_once_and_only_new_texts_computed():
    encode([TEXTS[0], TEXTS[0], TEXTS[1]], max_length=32)
    assert cache_info() == {"hits": 0, "misses": 2}
    encode(TEXTS, max_length=32)
    assert cache_info() == {"hits": 2, "misses": 3}


def test_normalisation_unwraps_bytes_literals_before_encoding():
    wrapped, plain = encode(["b'Solve 0 = -i for i.\\n'", "Solve 0 = -i for i."], max_length=32)
    np.testing.assert_allclose(wrapped, plain, atol=1e-6)


def test_cache_false_writes_nothing():
    encode(TEXTS, max_length=32, cache=False)
    assert not embedding_cache_dir().exists()


def test_damaged_shard_is_ignored_and_recomputed():
    first = encode(TEXTS, max_length=32)
    shard = next(embedding_cache_dir().glob("embeddings-*/shard-*.npz"))
    shard.write_bytes(b"not a zip file")
    embeddings._MEMO.clear()
    again = encode(TEXTS, max_length=32)
    np.testing.assert_allclose(again, first, atol=1e-6)
    assert cache_info()["misses"] == 6


def test_tokenize_matches_tokenizer_and_hits_cache():
    from transformers import AutoTokenizer

    from mathcls.models._hf import bundled_model_path

    tok = AutoTokenizer.from_pretrained(str(bundled_model_path()))
    ids = tokenize(TEXTS, tok, "tok-test", max_length=8, normalize=False)
    expected = tok(TEXTS, truncation=True, max_length=8)["input_ids"]
    assert [list(x) for x in ids] == expected
    assert all(len(x) <= 8 for x in ids)
    embeddings._MEMO.clear()
    again = tokenize(TEXTS, tok, "tok-test", max_length=8, normalize=False)
    assert [list(x) for x in again] == expected
    assert cache_info() == {"hits": 3, "misses": 3}


def test_cache_folder_follows_mathcls_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("MATHCLS_CACHE", str(tmp_path / "elsewhere"))
    encode(TEXTS[:1], max_length=16)
    assert list((tmp_path / "elsewhere" / "embeddings").glob("embeddings-*/shard-*.npz"))


def test_text_modes_have_their_own_keys_and_folders_and_old_keys_stay_valid():
    import hashlib

    keys = {mode: embeddings.text_key("m", 32, mode, "tokens", "$x^2$") for mode in (False, True, "verbalize")}
    assert len(set(keys.values())) == 3
    # Keys written before text modes existed used int(bool(normalize)); those caches must still be hit.
    old = hashlib.sha256(b"m\x0032\x001\x00tokens\x00$x^2$").hexdigest()
    assert keys[True] == old
    folders = {embeddings.ShardStore("tokens", "m", 32, mode).folder for mode in (False, True, "verbalize")}
    assert len(folders) == 3


def test_tokenize_verbalize_mode_tokenises_the_words():
    from transformers import AutoTokenizer

    from mathcls.models._hf import bundled_model_path

    tok = AutoTokenizer.from_pretrained(str(bundled_model_path()))
    ids = tokenize(["Compute $\\binom{10}{3}$."], tok, "tok-test", max_length=32, normalize="verbalize")
    assert list(ids[0]) == tok("Compute binomial 10 choose 3 .")["input_ids"]
    raw = tokenize(["Compute $\\binom{10}{3}$."], tok, "tok-test", max_length=32, normalize=True)
    assert list(raw[0]) != list(ids[0])
