"""The ``learnloop`` command, run in-process the way a user types it."""

from __future__ import annotations

import json
import re
from itertools import takewhile
from pathlib import Path

import pytest
from conftest import REPO

from assistant.cli.main import app

QUESTIONS = [
    {"id": "q1", "question": "How do I turn on two-factor authentication?", "lang": "en",
     "answerable": True, "gold": ["articles/admin/two-factor-authentication.md"], "kind": "how-to"},
    {"id": "q2", "question": "¿Cómo edito muchas tareas a la vez?", "lang": "es",
     "answerable": True, "kind": "how-to",
     "gold": ["articles/es/how-to/bulk-edit.md", "articles/how-to/bulk-edit.md"]},
    {"id": "q3", "question": "Can Tasklane file my taxes?", "lang": "en", "answerable": False,
     "gold": []},
]


@pytest.fixture
def sample_env(sample_knowledge, monkeypatch) -> Path:
    """Point the CLI at the session's ingested sample KB (only read here)."""
    monkeypatch.setenv("LEARNLOOP_DATA_DIR", str(sample_knowledge.settings.data_dir))
    return sample_knowledge.settings.data_dir


def write_jsonl(path: Path, lines: list) -> Path:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
                    + "\n")
    return path


@pytest.mark.parametrize(("command", "help_text"), [
    ([], "Learnloop: cited answers"),
    (["ingest"], "Ingest a folder"),
    (["search"], "Print the articles"),
    (["serve"], "Start the HTTP API"),
    (["eval"], "Measure quality"),
    (["eval", "retrieval"], "hit@1/3/5"),
    (["ask"], "Answer a question"),
    (["eval", "answers"], "Citation accuracy"),
])
def test_every_command_has_help(cli, command, help_text):
    result = cli.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert help_text in result.output


def readme_commands() -> list[tuple[list[str], list[str]]]:
    """(subcommand words, option flags) of the ``learnloop ...`` lines in the README."""
    flags: dict[tuple[str, ...], set[str]] = {}
    for line in (REPO / "README.md").read_text().splitlines():
        if line.startswith("learnloop "):
            usage = line.split("#")[0]
            words = tuple(takewhile(lambda w: w.isalpha() and w.islower(), usage.split()[1:]))
            flags.setdefault(words, set()).update(re.findall(r"(?<![\w-])(--[a-z-]+|-k)\b", usage))
    return [(list(words), sorted(found)) for words, found in flags.items()]


@pytest.mark.parametrize(("command", "flags"), readme_commands())
def test_readme_commands_and_options_exist(cli, command, flags):
    result = cli.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    for flag in flags:
        assert flag in result.output


def test_search_prints_ranked_results_with_scores(cli, sample_env):
    result = cli.invoke(app, ["search", "How do I turn on two-factor authentication?",
                              "--kb", "sample", "-k", "3"])
    assert result.exit_code == 0, result.output
    ranked = re.findall(r"^(\d+)\. \[(\d+\.\d{4})\] (.+?)  \((.+)\)$", result.stdout, re.MULTILINE)
    assert [rank for rank, *_ in ranked] == ["1", "2", "3"]
    scores = [float(score) for _, score, *_ in ranked]
    assert scores == sorted(scores, reverse=True)
    assert ranked[0][2:] == ("Turn on two-factor authentication",
                             "articles/admin/two-factor-authentication.md")


def test_search_json_with_filters(cli, sample_env):
    result = cli.invoke(app, ["search", "¿cómo invito a mi equipo?", "--kb", "sample",
                              "--locale", "es", "--mode", "bm25", "--json"])
    assert result.exit_code == 0, result.output
    results = json.loads(result.stdout)["results"]
    assert results and all(r["article_id"].startswith("articles/es/") for r in results)


def test_search_unknown_kb(cli, sample_env):
    result = cli.invoke(app, ["search", "two-factor", "--kb", "nope"])
    assert result.exit_code == 2
    assert "knowledge base 'nope' does not exist (known: sample)" in result.output


def test_search_unknown_mode(cli, sample_env):
    result = cli.invoke(app, ["search", "two-factor", "--kb", "sample", "--mode", "fuzzy"])
    assert result.exit_code == 2
    assert "unknown mode 'fuzzy'" in result.output


def test_eval_retrieval_prints_metrics_and_writes_json(cli, sample_env, tmp_path):
    questions = write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)
    out = tmp_path / "results" / "retrieval.json"
    result = cli.invoke(app, ["eval", "retrieval", "--kb", "sample", "--questions", str(questions),
                              "--json", str(out), "--modes", "hybrid,bm25"])
    assert result.exit_code == 0, result.output
    assert "hit@1" in result.stdout and "2 answerable questions" in result.stdout
    report = json.loads(out.read_text())
    assert set(report["modes"]) == {"hybrid", "bm25"}
    assert report["modes"]["hybrid"]["overall"]["n"] == 2
    assert report["modes"]["hybrid"]["overall"]["hit@5"] == 1.0


@pytest.mark.parametrize(("lines", "message"), [
    ([QUESTIONS[0], '{"id": "q2", "question": "oops"'], "questions.jsonl:2: not JSON"),
    ([{k: v for k, v in QUESTIONS[0].items() if k != "gold"}], "questions.jsonl:1: 'gold' must be"),
    ([QUESTIONS[0], {**QUESTIONS[1], "gold": []}], "questions.jsonl:2: answerable question"),
    ([QUESTIONS[0], QUESTIONS[0]], "questions.jsonl:2: duplicate id 'q1'"),
    ([{**QUESTIONS[0], "gold": ["articles/nowhere.md"]}], "not in knowledge base 'sample'"),
])
def test_eval_bad_question_file(cli, sample_env, tmp_path, lines, message):
    questions = write_jsonl(tmp_path / "questions.jsonl", lines)
    result = cli.invoke(app, ["eval", "retrieval", "--kb", "sample", "--questions", str(questions)])
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())


def test_eval_unknown_mode(cli, sample_env, tmp_path):
    questions = write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)
    result = cli.invoke(app, ["eval", "retrieval", "--kb", "sample", "--questions", str(questions),
                              "--modes", "hybrid,psychic"])
    assert result.exit_code == 2
    assert "unknown mode(s) psychic" in result.output


def test_ingest_missing_folder(cli, tmp_path):
    result = cli.invoke(app, ["ingest", str(tmp_path / "nowhere"), "--kb", "docs"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.com"])
def test_dev_mode_refuses_to_bind_beyond_loopback(cli, host):
    result = cli.invoke(app, ["serve", "--dev", "--host", host])
    assert result.exit_code == 2
    assert "binds only to loopback" in result.output


def test_serve_refuses_an_llm_answerer_without_an_endpoint(cli, monkeypatch):
    monkeypatch.setenv("LEARNLOOP_ANSWERER", "llm")
    result = cli.invoke(app, ["serve", "--dev"])
    assert result.exit_code == 2 and "LEARNLOOP_LLM_BASE_URL" in result.output


# --- serve --workers ----------------------------------------------------------------------------


def test_serve_refuses_several_workers_without_a_chroma_server(cli):
    result = cli.invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code != 0
    assert "--workers 2 needs LEARNLOOP_CHROMA_URL" in result.output


def test_model_threads_bound_every_onnx_session(data_dir):
    from assistant.knowledge.base import Knowledge
    from assistant.settings import Settings

    knowledge = Knowledge(Settings(model_threads=1))
    sessions = [knowledge.embedder._session, knowledge.pair_judge._session]  # type: ignore[attr-defined]
    assert [s.get_session_options().intra_op_num_threads for s in sessions] == [1, 1]
