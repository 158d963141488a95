"""What the neural families share (mathcls.models._hf): finding a model (local folder, Hugging Face
cache, download), the precision and its reason, and the OpenMP wait policy set before torch loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mathcls.models import _hf
from mathcls.models._hf import choose_precision, model_display_name, resolve_model

from .conftest import make_corpus

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A 2-layer BERT with random weights and the bundled MiniLM's tokenizer, saved as a model folder."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model(None)))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    folder = tmp_path_factory.mktemp("models") / "tiny-bert"
    BertModel(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def _run(code: str, env_update: dict, cwd=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(PYTHONPATH=str(ROOT), **env_update)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_a_local_model_folder_trains_offline(tiny_model, monkeypatch):
    from mathcls.models.transformer import TransformerClassifier

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts, y = make_corpus(3)
    est = TransformerClassifier(model=str(tiny_model), epochs=1, max_length=32, progress_bar=False).fit(texts, y)
    assert est.predict_proba(texts).shape == (len(texts), 8)
    assert est.model_.body.config.num_hidden_layers == 2
    assert model_display_name(str(tiny_model)) == "tiny-bert"


def test_a_hub_id_in_the_hugging_face_cache_resolves_offline(tiny_model, tmp_path):
    """The cache layout huggingface_hub writes: models--ORG--NAME/{refs/main, snapshots/COMMIT/...}."""
    repo = tmp_path / "hub" / "models--mathcls-test--tiny-bert"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for f in tiny_model.iterdir():
        (snapshot / f.name).write_bytes(f.read_bytes())
    proc = _run("from mathcls.models._hf import resolve_model; print(resolve_model('mathcls-test/tiny-bert'))",
                {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert Path(proc.stdout.strip()) == snapshot.resolve()


def test_an_unreachable_hub_ends_in_one_error_line(competition_dir, tmp_path):
    """Online mode, nothing cached, the hub not answering (a closed local port): one sentence, exit 1."""
    code = "import sys; from mathcls.cli import main; sys.argv[0] = 'mathcls'; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, "train", "transformer", "--data", str(competition_dir), "--out", "runs/x",
         "-p", "model=mathcls-test/absent"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0",
             "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_CACHE": str(tmp_path / "hub")},
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [
        "Error: Model 'mathcls-test/absent' is not in the Hugging Face cache and the hub cannot be reached; "
        "download it with `hf download mathcls-test/absent` on a machine with internet, or pass a local model "
        "folder with -p model=PATH."]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("native, expected", [(True, ("bf16", "native bf16 on this CPU")),
                                              (False, ("no", "no native bf16 on this CPU"))])
def test_auto_precision_on_cpu_follows_native_bf16_and_says_why(monkeypatch, native, expected):
    monkeypatch.setattr(_hf, "cpu_supports_bf16", lambda: native)
    assert choose_precision("auto", "cpu", cpu_bf16=True) == expected
    assert choose_precision("auto", "cpu") == ("no", "this model uses mixed precision on GPUs only")
    assert choose_precision("fp32", "cpu", cpu_bf16=True) == ("no", "asked for")
    reason = "asked for" if native else "asked for; emulated on this CPU"
    assert choose_precision("bf16", "cpu", cpu_bf16=True) == ("bf16", reason)


def test_auto_precision_under_accelerate_launch_says_so(monkeypatch):
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "fp16")
    assert choose_precision("auto", "cuda") == ("fp16", "set by accelerate launch")


_CLI = "from mathcls.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass"


@pytest.mark.parametrize("entry, preset, expected", [
    ("import mathcls.models.transformer", None, "PASSIVE"),  # setfit imports the same _hf module
    ("import mathcls.models.transformer", "ACTIVE", "ACTIVE"),
    (_CLI, None, "PASSIVE"),
])
def test_openmp_wait_policy_is_passive_unless_the_user_chose(entry, preset, expected):
    proc = _run(f"{entry}\nimport os, sys\nprint(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)",
                {"OMP_WAIT_POLICY": preset} if preset else {})
    assert proc.returncode == 0, proc.stderr[-2000:]
    policy, torch_loaded = proc.stdout.split()[-2:]
    assert policy == expected and torch_loaded == "False"  # set before torch (and its OpenMP) loads
