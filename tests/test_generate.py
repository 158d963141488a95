"""The procedural generator, writing generated folders, the demo competition, the optional LLM
client (against a tiny local server) and the `mathcls generate` command."""

from __future__ import annotations

import importlib
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from mathcls.cli import cli
from mathcls.data import load_competition
from mathcls.errors import MathclsError
from mathcls.generate import (
    balance_counts,
    dedupe,
    generate,
    generate_topic,
    make_demo_competition,
    topic_slug,
    write_generated,
)
from mathcls.generate.augment import math_problems
from mathcls.generate.draws import Draw, deepmind_row, plain_linear
from mathcls.generate.engine import registered_templates, templates_for
from mathcls.generate.llm import endpoint, llm_generate
from mathcls.labels import LABELS
from mathcls.text import normalize_text


@pytest.mark.parametrize("label", LABELS)
def test_every_topic_gives_valid_distinct_questions(label):
    rows = generate_topic(label, 40, seed=3)
    assert len(rows) == 40
    keys = [normalize_text(t).lower() for t in rows]
    assert len(set(keys)) == 40, "questions must be distinct after normalisation"
    for text in rows:
        assert len(normalize_text(text)) >= 15
        assert math_problems(normalize_text(text)) == [], text


def test_generate_frame_labels_and_reproducibility():
    a = generate(per_class=5, seed=11)
    b = generate(per_class=5, seed=11)
    c = generate(per_class=5, seed=12)
    assert a.columns.tolist() == ["Question", "label", "source"]
    assert a["label"].value_counts().to_dict() == {label: 5 for label in LABELS}
    assert (a["source"] == -1).all()
    pd.testing.assert_frame_equal(a, b)
    assert set(a["Question"]) != set(c["Question"])
    # a topic's rows do not depend on how many rows the other topics get
    only_two = generate(per_class={2: 5}, seed=11)
    assert only_two["Question"].tolist() == a.loc[a["label"] == 2, "Question"].tolist()


def test_generate_excludes_given_texts_and_rejects_bad_counts():
    first = generate(per_class={4: 10}, seed=1)
    again = generate(per_class={4: 10}, seed=1, exclude=first["Question"])
    assert not set(normalize_text(t) for t in again["Question"]) & set(normalize_text(t) for t in first["Question"])
    with pytest.raises(MathclsError, match="per_class"):
        generate(per_class=-1)
    with pytest.raises(MathclsError, match="Unknown label"):
        generate(per_class={9: 1})


def test_balance_counts_tops_up_small_classes():
    labels = [0] * 10 + [1] * 4 + [6] * 1
    counts = balance_counts(labels)
    assert counts[0] == 0 and counts[1] == 6 and counts[6] == 9 and counts[7] == 10
    assert balance_counts(labels, target=5)[0] == 0 and balance_counts(labels, target=5)[1] == 1


# one module per topic under mathcls/generate/topics, named here rather than read from the code
TOPIC_MODULES = {0: "algebra", 1: "geometry", 2: "calculus", 3: "probability", 4: "number_theory",
                 5: "combinatorics", 6: "linear_algebra", 7: "abstract_algebra"}


def test_the_registry_holds_every_topic_and_nothing_else():
    assert sorted(registered_templates()) == LABELS


@pytest.mark.parametrize("label, module", sorted(TOPIC_MODULES.items()))
def test_each_topic_module_registers_its_own_templates(label, module):
    mod = importlib.import_module(f"mathcls.generate.topics.{module}")
    registry = registered_templates()
    assert len(mod.TEMPLATES) >= 5
    assert registry[label] == mod.TEMPLATES
    assert all(t.__module__ == mod.__name__ for t in registry[label])
    elsewhere = {t for other, ts in registry.items() if other != label for t in ts}
    assert not elsewhere & set(mod.TEMPLATES), "a template is registered under two topics"


@pytest.mark.parametrize("label, module", sorted(TOPIC_MODULES.items()))
def test_every_template_writes_latex_safe_varied_questions(label, module):
    for template in registered_templates()[label]:
        texts = set()
        for seed in range(15):
            text = template(Draw(f"template-test-{seed}")).strip()
            assert len(normalize_text(text)) >= 15, (template.__name__, text)
            assert math_problems(normalize_text(text)) == [], (template.__name__, text)
            texts.add(text)
        assert len(texts) >= 8, f"{module}.{template.__name__} barely varies: {texts}"


def test_draw_helpers():
    r = Draw("helpers")
    assert all(r.nonzero(-1, 1) in (-1, 1) for _ in range(200))
    assert len(r.variables(3)) == 3 and len(set(r.plain_letters(4))) == 4 and "e" not in r.plain_letters(24)
    assert r.variable(exclude="xyztuvwnmkpqrsab") == "c"
    for _ in range(50):
        options = r.multiple_choice("7", ["8", "7", "9", "10", "11", "12"])
        letters = [o for o in ("(A)", "(B)", "(C)", "(D)", "(E)") if o in options]
        assert letters in (["(A)", "(B)", "(C)", "(D)"], ["(A)", "(B)", "(C)", "(D)", "(E)"])
        assert options.count("$7$") == 1 and "$12$" not in options
    assert r.inline("x") in ("$x$", "\\(x\\)")
    assert plain_linear([3, -2, 0, 1], ["x", "y", "z", "w"]) == "3*x - 2*y + w"
    assert plain_linear([-1, 0], ["a", "b"]) == "-a" and plain_linear([0], ["a"]) == "0"
    assert deepmind_row("Solve x = 2 for x.") == "b'Solve x = 2 for x.\\n'"


def test_template_parts_split_the_templates():
    names = [t.__name__ for t in registered_templates()[1]]  # 7 geometry templates
    assert len(names) == 7
    assert [t.__name__ for t in templates_for(1, "a")] == [names[i] for i in (0, 1, 3, 4, 6)]
    assert [t.__name__ for t in templates_for(1, "b")] == names + [names[2], names[5]]
    with pytest.raises(MathclsError, match="Unknown template part"):
        templates_for(1, "c")


def test_write_generated_dedupes_against_train_and_test(tmp_path):
    gen = generate(per_class=4, seed=2)
    train_copy = gen["Question"].iloc[0]
    test_copy = "  " + gen["Question"].iloc[5].upper() + " "  # same question after normalisation and case-folding
    dup = pd.concat([gen, gen.iloc[[1]]], ignore_index=True)
    paths = write_generated(dup, tmp_path / "gen", against=[train_copy, test_copy])
    all_rows = pd.read_csv(paths["generated_train"])
    assert len(all_rows) == len(gen) - 2
    assert train_copy not in set(all_rows["Question"])
    for label in LABELS:
        part = pd.read_csv(tmp_path / "gen" / f"{topic_slug(label)}.csv")
        assert (part["label"] == label).all()
        assert part.columns.tolist() == ["Question", "label", "source"]
    record = json.loads((tmp_path / "gen" / "generated.json").read_text())
    assert record["n_rows"] == len(all_rows) and record["n_dropped_duplicates"] == 3
    assert not list((tmp_path / "gen").glob(".*tmp*"))


def test_dedupe_drops_empty_and_repeated_rows():
    df = pd.DataFrame({"Question": ["A b c", "a  B c", "", "other"], "label": [0, 0, 1, 2], "source": [-1] * 4})
    assert dedupe(df)["Question"].tolist() == ["A b c", "other"]


def test_demo_competition_is_complete_and_honest(tmp_path):
    from sklearn.metrics import f1_score

    from mathcls.models.tfidf import TfidfLogReg

    folder = make_demo_competition(tmp_path / "demo", n_per_class=40, n_test=160, seed=5)
    comp = load_competition(folder)
    assert len(comp.train) == 320 and len(comp.test) == 160
    assert sorted(comp.train["label"].unique().tolist()) == LABELS
    assert comp.sample_submission["id"].tolist() == comp.test["id"].tolist()
    train_keys = {normalize_text(t).lower() for t in comp.train["Question"]}
    assert not any(normalize_text(t).lower() in train_keys for t in comp.test["Question"])
    answers = pd.read_csv(folder / "test_labels.csv", dtype={"id": str})
    model = TfidfLogReg().fit(comp.train["Question"].tolist(), comp.train["label"].to_numpy())
    score = f1_score(answers["label"], model.predict(comp.test["Question"].tolist()), average="micro")
    assert 0.6 < score < 0.995, score
    again = make_demo_competition(tmp_path / "demo2", n_per_class=40, n_test=160, seed=5)
    assert (again / "train.csv").read_bytes() == (folder / "train.csv").read_bytes()


# ----------------------------------------------------------------------- LLM client

def _answer(handler, status: int, payload: bytes, headers: dict) -> None:
    """Send one HTTP answer from a fake chat server."""
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


class _FakeChatAPI(BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):  # noqa: N802 - http.server naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _FakeChatAPI.seen.append((self.path, self.headers.get("Authorization"), body))
        if self.path != "/v1/chat/completions":
            self.send_response(404)
            self.end_headers()
            return
        prompt = body["messages"][-1]["content"]
        n = int(prompt.split()[1])
        lines = [f"{i + 1}. Find the value of $x_{i}$ when the problem number {len(_FakeChatAPI.seen)} asks about {prompt[30:60]}"
                 for i in range(n)]
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": "\n".join(lines)}}]}).encode()
        _answer(self, 200, payload, {"Content-Type": "application/json"})

    def log_message(self, *args):
        pass


@pytest.fixture()
def chat_server():
    _FakeChatAPI.seen = []
    server = HTTPServer(("127.0.0.1", 0), _FakeChatAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_llm_generate_talks_to_an_openai_compatible_server(chat_server, monkeypatch):
    monkeypatch.setenv("MATHCLS_LLM_API_KEY", "sk-test")
    monkeypatch.setenv("MATHCLS_LLM_MODEL", "tiny-model")
    df = llm_generate(per_class={1: 3, 6: 2}, url=chat_server, batch=2)
    assert df["label"].value_counts().to_dict() == {1: 3, 6: 2}
    assert (df["source"] == -1).all()
    assert not df["Question"].str.match(r"^\d+\.").any(), "numbering is stripped"
    path, auth, body = _FakeChatAPI.seen[0]
    assert path == "/v1/chat/completions" and auth == "Bearer sk-test" and body["model"] == "tiny-model"
    assert "Geometry and Trigonometry" in body["messages"][-1]["content"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_llm_unreachable_and_missing_url_are_clear_errors(monkeypatch):
    monkeypatch.delenv("MATHCLS_LLM_URL", raising=False)
    with pytest.raises(MathclsError, match="No LLM endpoint"):
        endpoint(None)
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(MathclsError, match="Cannot reach the LLM endpoint"):
        llm_generate(per_class={0: 1}, url=url, timeout=5)
    assert endpoint("http://h:1/v1") == "http://h:1/v1/chat/completions"
    assert endpoint("http://h:1/api/chat/completions") == "http://h:1/api/chat/completions"


class _FlakyChatAPI(BaseHTTPRequestHandler):
    """Answers with the scripted statuses in turn (a number: that HTTP status; "slow": no answer
    within the client's timeout), then with one good completion."""

    script: list = []
    calls = 0

    def do_POST(self):  # noqa: N802 - http.server naming
        self.rfile.read(int(self.headers["Content-Length"]))
        step = _FlakyChatAPI.script[_FlakyChatAPI.calls] if _FlakyChatAPI.calls < len(_FlakyChatAPI.script) else 200
        _FlakyChatAPI.calls += 1
        if step == "slow":
            import time

            time.sleep(1.0)
            step = 200
        payload = json.dumps({"choices": [{"message": {"content": "Find $x$ when $2x + 1 = 7$ holds here."}}]}).encode()
        _answer(self, step, payload, {"Retry-After": "7"} if step == 429 else {})

    def log_message(self, *args):
        pass


@pytest.fixture()
def flaky_server(monkeypatch):
    import mathcls.generate.llm as llm

    waits = []
    monkeypatch.setattr(llm, "_sleep", waits.append)
    _FlakyChatAPI.calls = 0
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyChatAPI)  # a retry is answered while a slow one sleeps
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", waits
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("script, waits", [
    ([503, 502, 500], [1.0, 2.0, 4.0]),  # server errors: exponential backoff
    ([429], [7.0]),  # rate limited: the server's Retry-After
    (["slow"], [1.0]),  # a timeout
])
def test_llm_client_retries_transient_failures_with_backoff(flaky_server, script, waits):
    from mathcls.generate.llm import chat

    url, slept = flaky_server
    _FlakyChatAPI.script = script
    assert chat([{"role": "user", "content": "q"}], url=url, timeout=0.5).startswith("Find $x$")
    assert slept == waits and _FlakyChatAPI.calls == len(script) + 1


@pytest.mark.parametrize("script, fragment", [
    ([401], "answered HTTP 401"),  # a wrong key is not retried
    ([404], "answered HTTP 404"),
    ([503] * 5, "answered HTTP 503 (Service Unavailable) 5 times"),  # retries spent
])
def test_llm_client_gives_up_in_one_sentence(flaky_server, script, fragment):
    from mathcls.generate.llm import RETRIES, chat

    url, slept = flaky_server
    _FlakyChatAPI.script = script
    with pytest.raises(MathclsError, match=re.escape(fragment)):
        chat([{"role": "user", "content": "q"}], url=url)
    assert _FlakyChatAPI.calls == (1 if len(script) == 1 else RETRIES + 1)
    assert len(slept) == _FlakyChatAPI.calls - 1


# ----------------------------------------------------------------------- CLI

def test_cli_generate_writes_the_files(tmp_path):
    out = tmp_path / "gen"
    res = CliRunner().invoke(cli, ["generate", "-g", "--per-class", "3", "--out", str(out), "--quiet", "--seed", "1"])
    assert res.exit_code == 0, res.output
    assert "generated_train.csv" in res.output and "Algebra" in res.output
    df = pd.read_csv(out / "generated_train.csv")
    assert len(df) == 24 and np.array_equal(np.sort(df["label"].unique()), np.arange(8))
    assert len(list(out.glob("*.csv"))) == 9


def test_cli_generate_balance_and_augment_use_data(tmp_path, competition_dir):
    out = tmp_path / "gen"
    res = CliRunner().invoke(cli, ["generate", "-g", "--balance", "--per-class", "10", "-a", "--data", str(competition_dir),
                                   "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out / "generated_train.csv")
    train = pd.read_csv(competition_dir / "train.csv")
    assert (df["source"] >= 0).any() and (df["source"] == -1).any()
    aug = df[df["source"] >= 0]
    assert (train["label"].to_numpy()[aug["source"]] == aug["label"].to_numpy()).all()
    assert json.loads((out / "generated.json").read_text())["train_sha256"]


@pytest.mark.parametrize("args, message", [
    (["generate", "--out", "OUT"], "Nothing to generate"),
    (["generate", "-a", "--out", "OUT"], "need the training data"),
    (["generate", "-g", "--balance", "--out", "OUT"], "need the training data"),
])
def test_cli_generate_user_errors_are_one_line(tmp_path, args, message):
    res = CliRunner().invoke(cli, [a.replace("OUT", str(tmp_path / "g")) for a in args])
    assert res.exit_code != 0
    assert message in res.output and "Traceback" not in res.output


def test_cli_generate_unreachable_llm(tmp_path, monkeypatch):
    monkeypatch.delenv("MATHCLS_LLM_URL", raising=False)
    res = CliRunner().invoke(cli, ["generate", "--llm-url", f"http://127.0.0.1:{_free_port()}", "--llm-per-class", "1",
                                   "--out", str(tmp_path / "g")])
    assert res.exit_code == 1 and "Cannot reach the LLM endpoint" in res.output
    assert not (tmp_path / "g" / "generated_train.csv").exists()
