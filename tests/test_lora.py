"""Decoder LLMs and LoRA in TransformerClassifier, on tiny models built from a config in the test
(a 2-layer Qwen2 and a 2-layer BERT with the bundled MiniLM's tokenizer): last-token pooling, the
pad token, LoRA training, small adapter folders, reload, merge, and quantisation refused on a CPU."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from mathcls.cli import cli
from mathcls.errors import MathclsError, ParameterError
from mathcls.models import make_model
from mathcls.models.transformer import TransformerClassifier, merge_lora
from mathcls.persist import load_model, save_model

from .conftest import make_corpus

torch = pytest.importorskip("torch")

LORA = dict(lora_r=8, epochs=8, max_length=32, batch_size=8, learning_rate=1e-2, validation_fraction=0,
            logging_dir=None, progress_bar=False, precision="fp32")


def _tiny_model(folder, config_cls, model_cls, decoder: bool, **config):
    """A randomly initialised model saved with the bundled MiniLM's tokenizer; the decoder's tokenizer
    has no pad token, like most decoder LLMs' (its end-of-sequence token is [SEP])."""
    from transformers import AutoTokenizer

    from mathcls.models._hf import bundled_model_path

    tokenizer = AutoTokenizer.from_pretrained(str(bundled_model_path()))
    if decoder:
        tokenizer.pad_token = None
        tokenizer.eos_token = "[SEP]"
    torch.manual_seed(0)
    model_cls(config_cls(vocab_size=len(tokenizer), **config)).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def tiny_qwen2(tmp_path_factory):
    from transformers import Qwen2Config, Qwen2Model

    return _tiny_model(tmp_path_factory.mktemp("models") / "tiny-qwen2", Qwen2Config, Qwen2Model, True,
                       hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       intermediate_size=64, max_position_embeddings=128)


@pytest.fixture(scope="module")
def lora_decoder(tiny_qwen2, tmp_path_factory):
    """LoRA on the tiny decoder, checkpoints on: trained once, read by the tests below."""
    root = tmp_path_factory.mktemp("lora")
    texts, y = make_corpus(8)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MATHCLS_CACHE", str(root / "cache"))
        est = TransformerClassifier(model=str(tiny_qwen2), output_dir=str(root / "results"), **LORA).fit(texts, y)
    return est, texts, y, root


def _size(paths) -> int:
    return sum(p.stat().st_size for p in paths if p.is_file())


def test_lora_decoder_learns_the_toy_task_with_last_token_pooling(lora_decoder):
    est, texts, y, _ = lora_decoder
    assert (est.predict(texts) == y).mean() >= 0.9
    assert est.model_.pooling == "last"  # "auto" on a decoder
    assert est.tokenizer_.pad_token == "[SEP]" == est.tokenizer_.eos_token
    trainable = [n for n, p in est.model_.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)
    layers = {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in trainable if "lora_" in n}
    assert layers == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


def test_lora_folder_holds_adapter_and_head_not_the_base(lora_decoder, tiny_qwen2, tmp_path):
    est, texts, _, _ = lora_decoder
    folder = save_model(est, tmp_path / "m")
    names = {p.name for p in folder.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "classifier.safetensors", "classifier.json",
            "tokenizer.json", "manifest.json"} <= names
    assert "model.safetensors" not in names and "config.json" not in names
    base_bytes = _size(tiny_qwen2.glob("*.safetensors"))
    adapter_bytes = _size([folder / "adapter_model.safetensors", folder / "classifier.safetensors"])
    assert adapter_bytes < base_bytes / 20
    assert _size(folder.iterdir()) < base_bytes / 2  # tokenizer files included
    adapter = json.loads((folder / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == str(tiny_qwen2) and adapter["r"] == 8
    info = json.loads((folder / "classifier.json").read_text())
    assert info["adapter"]["base"]["model"] == str(tiny_qwen2) and info["pooling"] == "last"

    loaded = load_model(folder)
    np.testing.assert_array_equal(loaded.predict_proba(texts), est.predict_proba(texts))
    np.testing.assert_array_equal(loaded.predict(texts), est.predict(texts))


def test_every_checkpoint_is_a_small_loadable_lora_folder(lora_decoder):
    est, texts, _, root = lora_decoder
    assert len(est.checkpoints_) == 2  # save_total_limit
    for ckpt in est.checkpoints_:
        assert (ckpt / "adapter_model.safetensors").is_file() and not (ckpt / "model.safetensors").exists()
    np.testing.assert_array_equal(load_model(est.checkpoints_[-1]).predict_proba(texts), est.predict_proba(texts))


def test_lora_folder_loads_with_from_pretrained_as_base_plus_adapter(lora_decoder, tmp_path):
    from transformers import AutoModel

    est, texts, _, _ = lora_decoder
    folder = save_model(est, tmp_path / "m")
    model = AutoModel.from_pretrained(str(folder)).eval()  # reads the base named in adapter_config.json
    ids = torch.tensor([est.tokenizer_("Find the remainder when 7^5 is divided by 3.")["input_ids"]])
    with torch.inference_mode():
        ours = est.model_.body(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
        theirs = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    torch.testing.assert_close(theirs, ours)


def test_merge_lora_writes_a_plain_model_folder_with_the_same_predictions(lora_decoder, tmp_path):
    from transformers import AutoModel

    est, texts, _, _ = lora_decoder
    folder = save_model(est, tmp_path / "m")
    merged = merge_lora(folder, tmp_path / "merged")
    assert (merged / "model.safetensors").is_file() and not (merged / "adapter_config.json").exists()
    _, info = AutoModel.from_pretrained(str(merged), output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    np.testing.assert_allclose(load_model(merged).predict_proba(texts), est.predict_proba(texts), atol=1e-5)
    # the same in memory, on a loaded copy
    copy = load_model(folder).merge_adapter()
    assert not any("lora_" in n for n, _ in copy.model_.named_parameters())
    np.testing.assert_allclose(copy.predict_proba(texts), est.predict_proba(texts), atol=1e-5)
    with pytest.raises(MathclsError, match="no LoRA adapter to merge"):
        copy.merge_adapter()


def test_moved_base_is_one_sentence_and_can_be_pointed_at(lora_decoder, tiny_qwen2, tmp_path):
    est, texts, _, _ = lora_decoder
    folder = save_model(est, tmp_path / "m")
    moved = shutil.copytree(tiny_qwen2, tmp_path / "elsewhere")
    np.testing.assert_array_equal(load_model(folder, params={"model": str(moved)}).predict_proba(texts),
                                  est.predict_proba(texts))
    with pytest.raises(MathclsError, match=r"needs its base model .*params=\{'model': PATH\}\)\.$"):
        load_model(folder, params={"model": str(tmp_path / "gone")})


def test_cli_trains_a_lora_decoder_and_predicts_from_its_folder(tiny_qwen2, competition_dir, tmp_path, monkeypatch):
    import pandas as pd

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["train", "transformer", "--data", str(competition_dir), "--out", "runs/qwen",
                                 "-p", f"model={tiny_qwen2}", "-p", "lora_r=4", "-p", "epochs=1", "-p", "max_length=32",
                                 "-p", "output_dir=None", "-p", "logging_dir=None", "-p", "progress_bar=False"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs/qwen/adapter_model.safetensors").is_file()
    result = runner.invoke(cli, ["predict", "-m", "runs/qwen", "--input", str(competition_dir / "test.csv"),
                                 "--output", "sub.csv"])
    assert result.exit_code == 0, result.output
    sub, test = pd.read_csv("sub.csv"), pd.read_csv(competition_dir / "test.csv")
    assert list(sub["id"]) == list(test["id"]) and set(sub["label"]) <= set(range(8))


def test_lora_on_a_tiny_bert_encoder(tmp_path):
    from transformers import BertConfig, BertModel

    base = _tiny_model(tmp_path / "tiny-bert", BertConfig, BertModel, False, hidden_size=32, num_hidden_layers=2,
                       num_attention_heads=4, intermediate_size=64, max_position_embeddings=64)
    texts, y = make_corpus(8)
    # a random encoder under mean pooling needs a few more steps than the decoder
    est = TransformerClassifier(model=str(base), output_dir=None, **{**LORA, "epochs": 16})
    est.fit(texts, y)
    assert (est.predict(texts) == y).mean() >= 0.9
    assert est.model_.pooling == "mean"  # "auto" on an encoder
    layers = {n.split(".lora_")[0].rsplit(".", 1)[-1] for n, p in est.model_.named_parameters()
              if p.requires_grad and "lora_" in n}
    assert {"query", "key", "value", "dense"} == layers
    assert not any("pooler" in n for n, p in est.model_.named_parameters() if p.requires_grad)
    loaded = load_model(save_model(est, tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict_proba(texts), est.predict_proba(texts))


def test_gradient_checkpointing_trains_the_same_model(tiny_qwen2):
    texts, y = make_corpus(3)
    fitted = [TransformerClassifier(model=str(tiny_qwen2), output_dir=None, gradient_checkpointing=flag,
                                    **{**LORA, "epochs": 1}).fit(texts, y) for flag in (False, True)]
    base = fitted[1].model_.body.get_base_model()
    # transformers renamed is_gradient_checkpointing to is_activation_checkpointing during 5.x
    name = "is_activation_checkpointing" if hasattr(type(base), "is_activation_checkpointing") else "is_gradient_checkpointing"
    assert getattr(base, name)
    np.testing.assert_allclose(fitted[1].predict_proba(texts), fitted[0].predict_proba(texts), atol=1e-5)


def test_last_token_pooling_finds_the_last_attended_position_on_either_side():
    from types import SimpleNamespace

    from mathcls.models._hfmodel import module_class

    class Positions(torch.nn.Module):
        """A stand-in body whose state at position t is the vector (t, t, ...)."""

        config = SimpleNamespace(hidden_size=2)

        def forward(self, input_ids, attention_mask):
            t = torch.arange(input_ids.shape[1], dtype=torch.float32)
            return SimpleNamespace(last_hidden_state=t[None, :, None].expand(input_ids.shape[0], -1, 2))

    module = module_class()(Positions(), 2, pooling="last", dropout=0.0).eval()
    module.head.weight.data = torch.eye(2)
    module.head.bias.data.zero_()
    mask = torch.tensor([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])  # right-, left- and not padded
    out = module(torch.zeros_like(mask), mask)
    assert out[:, 0].tolist() == [2.0, 4.0, 4.0]


def test_decoders_are_told_from_encoders_and_get_their_lora_targets():
    from transformers import BertConfig, DebertaV2Config, GemmaConfig, LlamaConfig, MistralConfig, Qwen2Config

    from mathcls.models._hfmodel import is_decoder, resolve_pooling
    from mathcls.models._peft import default_target_modules

    for cls in (Qwen2Config, LlamaConfig, GemmaConfig, MistralConfig):
        assert is_decoder(cls()) and resolve_pooling("auto", cls()) == "last"
        assert "q_proj" in default_target_modules(cls()) and "down_proj" in default_target_modules(cls())
    for cls in (BertConfig, DebertaV2Config):
        assert not is_decoder(cls()) and resolve_pooling("auto", cls()) == "mean"
    assert default_target_modules(BertConfig()) == ["query", "key", "value", "dense"]
    assert default_target_modules(DebertaV2Config()) == ["query_proj", "key_proj", "value_proj", "dense"]
    assert resolve_pooling("cls", Qwen2Config()) == "cls"


@pytest.mark.parametrize("params, message", [
    ({"lora_r": 0}, "lora_r must be an integer >= 1 or None; got 0."),
    ({"lora_r": 8, "quantization": "2bit"}, "quantization must be one of '4bit', '8bit' or None; got '2bit'."),
    ({"lora_r": 8, "lora_target_modules": [1]}, "lora_target_modules must be a string or a list of strings or None"),
    ({"lora_target_modules": "all-linear"}, "lora_target_modules applies to LoRA adapters; set lora_r too"),
    ({"gradient_checkpointing": "yes"}, "gradient_checkpointing must be True or False"),
])
def test_bad_lora_parameters_fail_before_any_data_is_read(params, message):
    with pytest.raises(ParameterError) as info:
        make_model("transformer", params)
    assert message in str(info.value)


def test_quantization_needs_lora_r(monkeypatch):
    from mathcls.models import _peft

    monkeypatch.setattr(_peft, "check_quantization", lambda quantization, device: None)  # as on a GPU
    with pytest.raises(ParameterError, match=r"^quantization='4bit' trains LoRA adapters on a frozen quantised "
                                             r"model; set lora_r too, e\.g\. lora_r=16\.$"):
        make_model("transformer", {"quantization": "4bit"})
    make_model("transformer", {"quantization": "4bit", "lora_r": 16})


CPU_4BIT = ("quantization='4bit' needs a CUDA GPU (bitsandbytes); on this machine leave quantization unset and "
            "train the LoRA adapter on the full-precision model.")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU refusal")
def test_cpu_quantization_request_is_one_sentence_before_any_weights_load(competition_dir, tmp_path, monkeypatch):
    texts, y = make_corpus(2)
    # the model folder does not exist: the quantisation check must come first
    est = TransformerClassifier(model=str(tmp_path / "not-loaded"), lora_r=8, quantization="4bit")
    with pytest.raises(ParameterError) as info:
        est.fit(texts, y)
    assert str(info.value) == CPU_4BIT
    monkeypatch.chdir(tmp_path)
    for extra in ([], ["-p", "lora_r=8"]):
        result = CliRunner().invoke(cli, ["train", "transformer", "--data", str(competition_dir), "--out", "runs/q",
                                          "-p", "quantization=4bit", *extra])
        assert result.exit_code != 0 and "Traceback" not in result.output
        assert result.output.strip().splitlines() == [f"Error: {CPU_4BIT}"]
    assert not (tmp_path / "runs").exists()


def test_lora_space_is_searched_when_lora_r_is_set():
    from mathcls.tuning.spaces import default_trial, searchable, space_from_config

    full = space_from_config("transformer", {})
    assert "lora_r" not in full
    lora = space_from_config("transformer", {"models": {"transformer": {"params": {"lora_r": 16}}}})
    assert {"lora_r", "learning_rate", "epochs"} <= set(searchable(lora))
    assert default_trial(lora, {"lora_r": 16, "learning_rate": 1e-4, "epochs": 3})["lora_r"] == 16


def test_gpu_llm_config_is_valid_and_needs_a_gpu_for_its_qlora_model():
    import tomllib
    from pathlib import Path

    from mathcls.errors import ConfigError
    from mathcls.pipeline import resolve_config
    from mathcls.tuning.spaces import space_from_config

    path = Path(__file__).resolve().parents[1] / "experiments" / "gpu-llm.toml"
    cfg = tomllib.loads(path.read_text())
    assert {entry["family"] for entry in cfg["models"].values()} == {"tfidf", "transformer"}
    qwen = cfg["models"]["qwen"]["params"]
    assert qwen["quantization"] == "4bit" and qwen["lora_r"] and "Qwen" in qwen["model"]
    if torch.cuda.is_available():
        resolve_config(path)
    else:  # checked when the config loads, before any data or weights: one sentence
        with pytest.raises(ConfigError, match="quantization='4bit' needs a CUDA GPU"):
            resolve_config(path)
    for entry in cfg["models"].values():
        params = {k: v for k, v in entry.get("params", {}).items() if torch.cuda.is_available() or k != "quantization"}
        make_model(entry["family"], params)
    assert "lora_r" in space_from_config("transformer", {"models": {"transformer": cfg["models"]["qwen"]}})
