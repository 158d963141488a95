"""TransformerClassifier on the real bundled MiniLM with tiny data: training loop, callbacks,
checkpoints, TensorBoard logs, save/load, the CLI, accelerate and offline model resolution."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mathcls.cli import cli
from mathcls.errors import MathclsError, ParameterError
from mathcls.models import make_model
from mathcls.models._hf import DEFAULT_MODEL_NAME, model_display_name, resolve_model, resolve_precision
from mathcls.models._trainer import layer_lr_scales
from mathcls.models.transformer import TransformerClassifier, length_bucketed_batches
from mathcls.persist import load_model, save_model

from .conftest import make_corpus


def cpu_has_native_bf16() -> bool:
    """Read from the CPU's flags, not from the code under test: AVX512-BF16 or AMX-BF16."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        pytest.skip("needs /proc/cpuinfo to know whether this CPU has native bf16")
    flags = set(cpuinfo.read_text().split())
    return bool({"avx512_bf16", "amx_bf16"} & flags)


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}

TINY = dict(epochs=2, max_length=32, batch_size=16, learning_rate=5e-4, progress_bar=False)


class Recorder:
    def __init__(self):
        self.events = []

    def on_train_begin(self, est):
        self.events.append(("begin", None))

    def on_epoch_end(self, est, epoch, logs):
        self.events.append(("epoch", epoch, dict(logs)))

    def on_train_end(self, est):
        self.events.append(("end", None))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One fit shared by the tests below: 2 epochs, validation split, checkpoints and TensorBoard on,
    in the seed project's ``results/<model>_results`` layout."""
    root = tmp_path_factory.mktemp("transformer")
    texts, y = make_corpus(6)
    recorder = Recorder()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MATHCLS_CACHE", str(root / "cache"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        est = TransformerClassifier(**TINY, validation_fraction=0.25,
                                    output_dir=str(root / "results" / f"{DEFAULT_MODEL_NAME}_results"),
                                    logging_dir=str(root / "logs"), callbacks=[("rec", recorder)])
        est.fit(texts, y)
    return est, recorder, root, texts, y


def test_fit_learns_and_reports_history(trained):
    est, _, _, texts, y = trained
    assert len(est.history_) == 2
    for logs in est.history_:
        assert logs["loss"] > 0 and logs["examples_per_second"] > 0
        assert 0.0 <= logs["val_f1_micro"] <= 1.0
    assert est.history_[1]["loss"] < est.history_[0]["loss"]
    assert (est.predict(texts) == y).mean() > 0.5


def test_callbacks_are_called_in_order_with_logs(trained):
    est, recorder, *_ = trained
    kinds = [e[0] for e in recorder.events]
    assert kinds == ["begin", "epoch", "epoch", "end"]
    logs = recorder.events[1][2]
    assert {"loss", "learning_rate", "val_f1_micro"} <= set(logs)
    # built-ins switched on by the parameters (no progress bar), then the user's
    assert [name for name, _ in est.callbacks_] == ["tensorboard", "checkpoint", "rec"]


def test_checkpoints_are_complete_model_folders(trained):
    est, _, root, texts, _ = trained
    ckpt_root = root / "results" / f"{DEFAULT_MODEL_NAME}_results"
    names = sorted((p.name for p in ckpt_root.iterdir()), key=lambda n: int(n.rsplit("-", 1)[1]))
    assert names == [f"checkpoint-{h['step']}" for h in est.history_]  # one per epoch (limit 2)
    assert est.checkpoints_ == [ckpt_root / name for name in names]
    for name in names:
        folder = ckpt_root / name
        for f in ("manifest.json", "model.safetensors", "config.json", "tokenizer.json", "classifier.json"):
            assert (folder / f).is_file(), f
        config = json.loads((folder / "config.json").read_text())
        assert config["id2label"] == {str(i): str(i) for i in range(8)}
    assert not list(ckpt_root.rglob("*.pkl")) and not list(ckpt_root.rglob("*.bin"))
    last = load_model(ckpt_root / names[-1])
    np.testing.assert_array_equal(last.predict_proba(texts), est.predict_proba(texts))


@pytest.mark.slow
def test_checkpoint_is_a_hugging_face_model_folder_of_the_fine_tuned_encoder(tmp_path):
    """One epoch on 320 rows; the checkpoint loads with AutoModel/AutoTokenizer without missing or
    unexpected keys, holds the fine-tuned (not the pretrained) weights, and the classifier rebuilt by
    hand from its files predicts what the fitted model predicts."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer

    from mathcls.models._hf import bundled_model_path
    from mathcls.text import normalize_text

    texts, y = make_corpus(40, seed=3)
    est = TransformerClassifier(epochs=1, max_length=32, batch_size=16, learning_rate=5e-4, precision="fp32",
                                validation_fraction=0, output_dir=str(tmp_path / "results"), logging_dir=None,
                                progress_bar=False).fit(texts, y)
    ckpt = est.checkpoints_[-1]
    model, info = AutoModel.from_pretrained(str(ckpt), output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    fine = est.model_.body.state_dict()
    pretrained = AutoModel.from_pretrained(str(bundled_model_path())).state_dict()
    loaded = model.state_dict()
    assert set(loaded) == set(fine)
    for name, tensor in loaded.items():
        torch.testing.assert_close(tensor, fine[name].cpu(), rtol=0, atol=0)
    moved = [n for n in loaded if loaded[n].is_floating_point() and not torch.equal(loaded[n], pretrained[n])]
    assert len(moved) > len(loaded) // 2  # training changed the encoder, and the checkpoint holds that

    tokenizer = AutoTokenizer.from_pretrained(str(ckpt))
    head = load_file(str(ckpt / "classifier.safetensors"))
    meta = json.loads((ckpt / "classifier.json").read_text())
    assert meta["pooling"] == "mean" and meta["n_classes"] == 8 and meta["adapter"] is None
    enc = tokenizer([normalize_text(t) for t in texts], truncation=True, max_length=32, padding=True,
                    return_tensors="pt")
    with torch.inference_mode():
        hidden = model.eval()(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        logits = ((hidden * mask).sum(1) / mask.sum(1)) @ head["weight"].T + head["bias"]
    np.testing.assert_allclose(torch.softmax(logits, 1).numpy(), est.predict_proba(texts), atol=1e-5)
    np.testing.assert_array_equal(load_model(ckpt).predict_proba(texts), est.predict_proba(texts))


def test_model_folder_written_before_the_head_had_its_own_file_still_loads(trained, tmp_path):
    """Folders of earlier mathcls versions kept body.* and head.* weights in one model.safetensors."""
    from safetensors.torch import save_model as save_safetensors

    est, _, _, texts, _ = trained
    folder = save_model(est, tmp_path / "old")
    for name in ("model.safetensors", "classifier.safetensors"):
        (folder / name).unlink()
    save_safetensors(est.model_, str(folder / "model.safetensors"), force_contiguous=True)
    manifest = json.loads((folder / "manifest.json").read_text())  # those folders had no payload hashes
    manifest.pop("payload_sha256")
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format_version": 1}))
    np.testing.assert_allclose(load_model(folder).predict_proba(texts), est.predict_proba(texts), atol=1e-6)


def test_tensorboard_events_written(trained):
    _, _, root, *_ = trained
    events = list((root / "logs").rglob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 0
    assert events[0].parent.name.startswith(DEFAULT_MODEL_NAME)


def test_save_load_identical_probabilities_without_pickle(trained, tmp_path):
    est, _, _, texts, _ = trained
    folder = save_model(est, tmp_path / "model")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "callbacks" not in manifest["params"]
    assert {p.suffix for p in folder.iterdir()} <= {".json", ".safetensors", ".txt"}
    loaded = load_model(folder)
    np.testing.assert_array_equal(loaded.predict_proba(texts), est.predict_proba(texts))
    assert loaded.history_ == est.history_


@pytest.mark.parametrize("edit, fragment", [
    (lambda head: head["classes"].reverse(), "class order"),
    (lambda head: head.update(classes=head["classes"][:3], n_classes=3), "holds 3"),
])
def test_head_classes_must_match_the_manifest(trained, tmp_path, edit, fragment):
    from mathcls.errors import ModelFolderError
    from tests.conftest import rehash_payload

    folder = save_model(trained[0], tmp_path / "model")
    head = json.loads((folder / "classifier.json").read_text())
    assert head["classes"] == list(range(8))
    edit(head)
    (folder / "classifier.json").write_text(json.dumps(head))
    rehash_payload(folder)
    with pytest.raises(ModelFolderError, match=fragment):
        load_model(folder)


def test_predict_batch_size_does_not_change_predictions(trained):
    est, _, _, texts, _ = trained
    small = est.set_params(predict_batch_size=3).predict_proba(texts)
    est.set_params(predict_batch_size=64)
    # padding is masked out; bf16 autocast (CPUs with native bf16) rounds differently per batch shape
    atol = 1e-5 if est.mixed_precision_ == "no" else 3e-2
    np.testing.assert_allclose(small, est.predict_proba(texts), atol=atol)


@pytest.mark.slow
def test_callback_exception_propagates_out_of_fit(tmp_path):
    class Stop(Exception):
        pass

    class Deadline:
        def on_epoch_end(self, est, epoch, logs):
            raise Stop(f"stopped after epoch {epoch}")

    texts, y = make_corpus(3)
    est = TransformerClassifier(epochs=3, max_length=16, batch_size=16, progress_bar=False, output_dir=None,
                                logging_dir=None, validation_fraction=0, callbacks=[("deadline", Deadline())])
    with pytest.raises(Stop, match="after epoch 1"):
        est.fit(texts, y)


def test_fit_writes_nothing_unless_asked_and_says_what_runs(tmp_path, monkeypatch, capsys):
    """Defaults: no checkpoints, no logs, nothing in the working directory; one line saying the
    device, the precision this CPU gets and why, the threads; then the speed."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    texts, y = make_corpus(6)  # 48 rows: 3 batches of 16, two optimiser steps with accumulation 2
    est = TransformerClassifier(epochs=1, max_length=32, batch_size=16, validation_fraction=0,
                                gradient_accumulation_steps=2).fit(texts, y)
    assert files_under(work) == set()
    assert est.history_[0]["step"] == 2  # the odd last batch still ends in a step (end of the epoch)
    native = cpu_has_native_bf16()
    assert est.mixed_precision_ == ("bf16" if native else "no")
    lines = capsys.readouterr().out.splitlines()
    expected = "bf16 (native bf16 on this CPU)" if native else "fp32 (no native bf16 on this CPU)"
    import torch

    assert f"Training on cpu, {expected}, {torch.get_num_threads()} CPU threads." in lines
    speed = [line for line in lines if line.startswith("Speed: ")]
    assert len(speed) == 1 and speed[0].endswith("examples/s (epoch 1).")


@pytest.mark.slow
def test_cli_train_writes_only_under_out_and_predicts_from_a_checkpoint(competition_dir, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    runner = CliRunner()
    result = runner.invoke(cli, ["train", "transformer", "--data", str(competition_dir), "--out", "runs/t",
                                 "-p", "epochs=1", "-p", "max_length=32"])
    assert result.exit_code == 0, result.output
    assert "Training on cpu, " in result.output
    assert {p.split("/")[0] for p in files_under(work)} == {"runs"}
    out = Path("runs/t")
    assert {p.name for p in Path("runs").iterdir()} == {"t"}
    checkpoints = list((out / "checkpoints").iterdir())
    assert [p.name for p in checkpoints] == ["checkpoint-4"]  # 64 rows, too few to hold out: 4 batches of 16
    assert len(list((out / "logs").rglob("events.out.tfevents.*"))) == 1
    assert (out / "manifest.json").is_file()
    for model_dir in (checkpoints[0], out):
        result = runner.invoke(cli, ["predict", "-m", str(model_dir), "--input", str(competition_dir / "test.csv"),
                                     "--output", str(tmp_path / "sub.csv"), "--batch-size", "4"])
        assert result.exit_code == 0, result.output
        sub = pd.read_csv(tmp_path / "sub.csv")
        test = pd.read_csv(competition_dir / "test.csv")
        assert list(sub.columns) == ["id", "label"] and len(sub) == len(test)
        assert set(sub["label"]) <= set(range(8))


@pytest.mark.slow
def test_cli_cross_validation_keeps_each_folds_checkpoints_apart(competition_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = CliRunner().invoke(cli, ["train", "transformer", "--data", str(competition_dir), "--out", "runs/cv",
                                      "--cv", "2", "-p", "epochs=1", "-p", "max_length=32",
                                      "-p", "progress_bar=False", "-p", "validation_fraction=0"])
    assert result.exit_code == 0, result.output
    out = Path("runs/cv")
    # 64 rows: each fold trains on 32 (2 batches), the final fit on 64 (4 batches)
    assert files_under(out / "checkpoints") >= {"fold-0/checkpoint-2", "fold-1/checkpoint-2", "checkpoint-4"}
    assert {p.name for p in (out / "checkpoints").iterdir()} == {"fold-0", "fold-1", "checkpoint-4"}
    logs = sorted(str(p.parent.relative_to(out / "logs")) for p in (out / "logs").rglob("events.out.tfevents.*"))
    assert len(logs) == 3 and logs[0].startswith("fold-0/") and logs[1].startswith("fold-1/")
    assert load_model(out / "checkpoints" / "fold-1" / "checkpoint-2").classes_.tolist() == list(range(8))


def test_unknown_hub_id_fails_offline_with_one_sentence(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts, y = make_corpus(2)
    with pytest.raises(MathclsError, match=r"^Model 'no-such-org/no-such-model' is not in the Hugging Face cache and "
                                           r"HF_HUB_OFFLINE is set; download it with `hf download no-such-org/"
                                           r"no-such-model` on a machine with internet, or pass a local model "
                                           r"folder with -p model=PATH\.$"):
        TransformerClassifier(model="no-such-org/no-such-model").fit(texts, y)


def test_cli_reports_offline_failure_as_one_line(competition_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = CliRunner().invoke(cli, ["train", "transformer", "--data", str(competition_dir), "--out", "runs/x",
                                      "-p", "model=no-such-org/no-such-model"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Model 'no-such-org/no-such-model' is not in the")
    assert not Path("runs/x").exists() and not Path("results").exists()


def test_missing_local_folder_is_reported():
    with pytest.raises(MathclsError, match="does not exist"):
        resolve_model("./no/such/folder")


def test_model_names_for_checkpoint_folders():
    assert model_display_name(None) == DEFAULT_MODEL_NAME
    assert model_display_name(str(resolve_model(None))) == DEFAULT_MODEL_NAME
    assert model_display_name("sentence-transformers/all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    assert model_display_name("/models/my-bert/") == "my-bert"


@pytest.mark.parametrize("params, fragment", [
    ({"epochs": 0}, "epochs must be an integer >= 1"),
    ({"learning_rate": -1.0}, "learning_rate must be a number > 0"),
    ({"class_weight": "auto"}, "class_weight must be 'balanced' or None"),
    ({"precision": "fp64"}, "precision must be one of"),
    ({"validation_fraction": 0.9}, "validation_fraction must be a number in"),
    ({"pooling": "max"}, "pooling must be one of 'auto', 'cls', 'last', 'mean'"),
    ({"callbacks": [object()]}, "callbacks must be a list of (name, callback) pairs or None"),
    ({"label_smoothing": 1.0}, "label_smoothing must be a number in [0, 1)"),
    ({"layer_decay": 0}, "layer_decay must be a number in (0, 1] or None"),
    ({"freeze_layers": -1}, "freeze_layers must be an integer >= 0"),
    ({"body_dropout": 1.0}, "body_dropout must be a number in [0, 1) or None"),
    ({"attn_implementation": "fast"}, "attn_implementation must be one of 'auto', "),
])
def test_bad_parameters_fail_before_any_data_is_read(params, fragment):
    with pytest.raises(ParameterError) as info:
        make_model("transformer", params)
    assert fragment in str(info.value)


def test_layer_lr_scales_fall_by_the_decay_per_layer_below_the_head():
    names = ["body.embeddings.word_embeddings.weight", "body.embeddings.LayerNorm.bias",
             "body.encoder.layer.0.attention.self.query.weight", "body.encoder.layer.1.output.dense.bias",
             "body.pooler.dense.weight", "head.weight"]
    assert layer_lr_scales(names, 0.5) == {
        "body.embeddings.word_embeddings.weight": 0.125, "body.embeddings.LayerNorm.bias": 0.125,
        "body.encoder.layer.0.attention.self.query.weight": 0.25, "body.encoder.layer.1.output.dense.bias": 0.5,
        "body.pooler.dense.weight": 1.0, "head.weight": 1.0}
    # a decoder's layers inside a LoRA-wrapped base; the adapters learn at their layer's rate
    lora = ["body.base_model.model.layers.0.self_attn.q_proj.lora_A.default.weight",
            "body.base_model.model.layers.2.mlp.up_proj.lora_B.default.weight", "head.bias"]
    assert layer_lr_scales(lora, 0.1) == pytest.approx({lora[0]: 0.001, lora[1]: 0.1, lora[2]: 1.0})
    assert set(layer_lr_scales(names, None).values()) == {1.0} == set(layer_lr_scales(names, 1.0).values())


def test_layer_decay_leaves_the_lower_layers_nearly_untouched(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts, y = make_corpus(4)
    pretrained = load_file(str(resolve_model(None) / "model.safetensors"))

    def moved(est, key):
        return float((est.model_.body.state_dict()[key] - pretrained[key]).abs().max())

    plain = TransformerClassifier(**TINY, validation_fraction=0).fit(texts, y)
    decayed = TransformerClassifier(**TINY, validation_fraction=0, layer_decay=0.01).fit(texts, y)
    top, embeddings = "encoder.layer.5.output.dense.weight", "embeddings.word_embeddings.weight"
    assert moved(plain, top) > 0 and moved(plain, embeddings) > 0
    # the top layer learns at 1/100 of the rate, the embeddings at 1e-14: AdamW's steps scale with the rate
    assert 0 < moved(decayed, top) < 0.05 * moved(plain, top)
    assert moved(decayed, embeddings) < 1e-6 * moved(plain, embeddings)


def test_freeze_layers_keeps_the_embeddings_and_lowest_layers_at_their_pretrained_weights(monkeypatch):
    import torch
    from safetensors.torch import load_file

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts, y = make_corpus(4)
    pretrained = load_file(str(resolve_model(None) / "model.safetensors"))
    est = TransformerClassifier(**TINY, validation_fraction=0, freeze_layers=2).fit(texts, y)
    state = est.model_.body.state_dict()
    unchanged = [k for k in pretrained if k in state and torch.equal(state[k].float(), pretrained[k].float())]
    for key in ("embeddings.word_embeddings.weight", "embeddings.LayerNorm.weight",
                "encoder.layer.0.attention.self.query.weight", "encoder.layer.1.output.dense.weight"):
        assert key in unchanged
    for key in ("encoder.layer.2.attention.self.query.weight", "encoder.layer.5.output.dense.weight"):
        assert key not in unchanged
    assert (est.predict(texts) == y).mean() > 0.5  # the layers above still learn the task


def test_freeze_layers_beyond_the_model_is_one_sentence(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts, y = make_corpus(2)
    with pytest.raises(ParameterError, match=r"^freeze_layers=7 exceeds the model's 6 layers; use at most 6\.$"):
        TransformerClassifier(**TINY, freeze_layers=7).fit(texts, y)


def test_body_dropout_sets_every_dropout_rate_of_the_pretrained_model(monkeypatch):
    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts, y = make_corpus(2)
    kept = TransformerClassifier(**dict(TINY, epochs=1), validation_fraction=0).fit(texts, y)
    assert kept.model_.body.config.hidden_dropout_prob == 0.1  # all-MiniLM-L6-v2's own rates
    assert kept.model_.body.config.attention_probs_dropout_prob == 0.1
    off = TransformerClassifier(**dict(TINY, epochs=1), validation_fraction=0, body_dropout=0.0).fit(texts, y)
    assert off.model_.body.config.hidden_dropout_prob == 0.0
    assert off.model_.body.config.attention_probs_dropout_prob == 0.0
    # without any dropout, two training-mode passes over the same batch agree exactly
    body = off.model_.body.train()
    batch = torch.tensor([[101, 2424, 1996, 2181, 102]])
    with torch.no_grad():
        a, b = body(batch).last_hidden_state, body(batch).last_hidden_state
    assert torch.equal(a, b)
    body = kept.model_.body.train()
    with torch.no_grad():
        assert not torch.equal(body(batch).last_hidden_state, body(batch).last_hidden_state)


def test_cpu_training_runs_eager_attention_and_predicts_with_the_models_own(monkeypatch, tmp_path):
    class Seen:
        def __init__(self):
            self.kernels = set()

        def on_batch_end(self, est, step, logs):
            self.kernels.add(est.model_.body.config._attn_implementation)

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts, y = make_corpus(2)
    seen = Seen()
    auto = TransformerClassifier(**dict(TINY, epochs=1), validation_fraction=0, device="cpu",
                                 callbacks=[("seen", seen)]).fit(texts, y)
    assert seen.kernels == {"eager"}
    assert auto.model_.body.config._attn_implementation == "sdpa"  # all-MiniLM-L6-v2's default
    seen = Seen()
    sdpa = TransformerClassifier(**dict(TINY, epochs=1), validation_fraction=0, device="cpu",
                                 attn_implementation="sdpa", callbacks=[("seen", seen)]).fit(texts, y)
    assert seen.kernels == {"sdpa"}
    # the two kernels compute the same attention: same seed, same predictions up to bf16 rounding
    np.testing.assert_allclose(auto.predict_proba(texts), sdpa.predict_proba(texts), atol=0.02)
    eager = TransformerClassifier(**dict(TINY, epochs=1), validation_fraction=0, device="cpu",
                                  attn_implementation="eager").fit(texts, y)
    assert eager.model_.body.config._attn_implementation == "eager"
    save_model(eager, tmp_path / "m")
    assert load_model(tmp_path / "m").model_.body.config._attn_implementation == "eager"


def test_dropout_overrides_find_a_decoders_rates(tmp_path):
    from transformers import Qwen2Config

    Qwen2Config(attention_dropout=0.2, vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                num_attention_heads=2, num_key_value_heads=1).save_pretrained(tmp_path)
    from mathcls.models._hfmodel import dropout_overrides

    assert dropout_overrides(tmp_path, 0.0) == {"attention_dropout": 0.0}
    assert dropout_overrides(tmp_path, None) == {}


def test_label_smoothing_keeps_the_model_from_certainty(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts, y = make_corpus(4)
    params = dict(TINY, epochs=8, validation_fraction=0)
    sharp = TransformerClassifier(**params).fit(texts, y).predict_proba(texts).max(axis=1)
    # with half of each target spread over 8 classes the loss is lowest at 0.5 + 0.5/8 on the true
    # class (a little more once dropout is off at prediction)
    smooth = TransformerClassifier(**params, label_smoothing=0.5).fit(texts, y).predict_proba(texts).max(axis=1)
    assert sharp.mean() > 0.9
    assert smooth.mean() < 0.7


def test_length_bucketed_batches_cover_every_row_once_with_little_padding():
    rng = np.random.default_rng(0)
    lengths = np.concatenate([rng.integers(5, 60, 400), rng.integers(200, 512, 20)])
    batches = length_bucketed_batches(lengths, 16, np.random.default_rng(1), bucket_factor=10)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert max(len(b) for b in batches) == 16
    padded = sum(lengths[b].max() * len(b) for b in batches)
    random_batches = np.array_split(np.random.default_rng(2).permutation(len(lengths)), len(batches))
    padded_random = sum(lengths[b].max() * len(b) for b in random_batches)
    assert padded < 0.6 * padded_random
    # The order of batches is shuffled, not longest-first.
    firsts = [lengths[b].max() for b in batches]
    assert firsts != sorted(firsts, reverse=True)


@pytest.mark.slow
def test_accelerate_launch_with_an_fp16_config_trains_in_the_cpus_precision(competition_dir, tmp_path):
    """`accelerate launch -m mathcls train transformer` with the shipped fp16 config cannot use fp16 on a
    CPU: "auto" takes the CPU's own choice (bf16 where native, else fp32)."""
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("checks the CPU fallback")
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    if accelerate is None:
        pytest.skip("accelerate CLI not installed")
    config = Path(__file__).resolve().parents[1] / "experiments" / "accelerate_fp16.yaml"
    out = tmp_path / "runs" / "t"
    proc = subprocess.run(
        [accelerate, "launch", "--config_file", str(config), "-m", "mathcls", "train", "transformer",
         "--data", str(competition_dir), "--out", str(out), "-p", "epochs=1", "-p", "max_length=16"],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = "bf16" if cpu_has_native_bf16() else "no"
    assert json.loads((out / "classifier.json").read_text())["mixed_precision"] == expected
    reason = "native bf16 on this CPU" if expected == "bf16" else "no native bf16 on this CPU"
    assert f"({reason})" in proc.stdout


def test_cpu_precision_choices():
    assert resolve_precision("fp32", "cpu", cpu_bf16=True) == "no"
    assert resolve_precision("bf16", "cpu", cpu_bf16=True) == "bf16"
    assert resolve_precision("auto", "cpu") == "no"  # callers without CPU autocast stay in fp32
    with pytest.raises(MathclsError, match="needs a CUDA GPU; use 'auto', 'bf16' or 'fp32' on CPU"):
        resolve_precision("fp16", "cpu", cpu_bf16=True)
    with pytest.raises(MathclsError, match="needs a CUDA GPU; use 'auto' or 'fp32' on CPU"):
        resolve_precision("bf16", "cpu")


def test_bf16_and_fp32_on_cpu_learn_alike_and_reload_in_their_precision(tmp_path):
    """Explicit bf16 runs on any CPU (emulated where not native); its predictions track fp32's."""
    texts, y = make_corpus(6)
    fitted = {}
    for precision in ("fp32", "bf16"):
        est = TransformerClassifier(**TINY, precision=precision, output_dir=None, logging_dir=None,
                                    validation_fraction=0.0).fit(texts, y)
        assert est.mixed_precision_ == {"fp32": "no", "bf16": "bf16"}[precision]
        assert (est.predict(texts) == y).mean() > 0.5
        fitted[precision] = est
    p32, p16 = fitted["fp32"].predict_proba(texts), fitted["bf16"].predict_proba(texts)
    np.testing.assert_allclose(p16.sum(1), 1.0, atol=1e-4)
    assert (p32.argmax(1) == p16.argmax(1)).mean() > 0.8
    loaded = load_model(save_model(fitted["bf16"], tmp_path / "m"))
    assert loaded.mixed_precision_ == "bf16"
    np.testing.assert_allclose(loaded.predict_proba(texts), p16, atol=1e-6)


@pytest.mark.gpu
def test_gpu_mixed_precision_fit_and_predict(tmp_path):
    texts, y = make_corpus(4)
    est = TransformerClassifier(**TINY, output_dir=None, logging_dir=None).fit(texts, y)
    assert est.mixed_precision_ in ("bf16", "fp16")
    assert next(est.model_.parameters()).device.type == "cuda"
    proba = est.predict_proba(texts)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-4)
    loaded = load_model(save_model(est, tmp_path / "m"))
    np.testing.assert_allclose(loaded.predict_proba(texts), proba, atol=1e-3)
