"""The off-topic check: requests about somewhere else are declined, product questions are not,
and a help center that covers an example's subject answers it (real USE and MiniLM)."""

from __future__ import annotations

import pytest
from conftest import REPO

from assistant.answering.extractive import ExtractiveAnswerer
from assistant.knowledge.off_topic import (
    EXAMPLES_FILE,
    OffTopicExamples,
    about_other_products,
    load_examples,
)
from assistant.knowledge.retrieval import Retriever
from evals.retrieval_eval import load_questions
from ingest.sync import sync_path

# Written for this test: none of these is in the examples file or the eval question sets.
ELSEWHERE = [
    "can you write a limerick about my cat",
    "what's the best pizza place in naples",
    "how do i change the ringtone on my samsung",
    "how do i add a signature in apple mail",
    "¿cuál es el río más largo del mundo?",
]
PRODUCT = [
    "how do i archive a project we finished",
    "can i set a due date on a subtask",
    "¿cómo invito a un compañero a mi espacio de trabajo?",
]


@pytest.fixture(scope="module")
def examples(embedders) -> OffTopicExamples:
    return OffTopicExamples.load(*embedders)


@pytest.fixture(scope="module")
def answerer(sample_knowledge) -> ExtractiveAnswerer:
    kb = sample_knowledge.get("sample")
    return ExtractiveAnswerer(
        Retriever.of(sample_knowledge, kb), sample_knowledge.embedder,
        off_topic=sample_knowledge.off_topic, pair_judge=sample_knowledge.pair_judge,
    )


def test_the_shipped_examples_load_and_none_is_an_eval_question():
    examples = load_examples()
    assert len(examples) >= 200 and len(set(examples)) == len(examples)
    assert not any(e.startswith("#") for e in examples)
    asked = {
        q.question.strip().lower()
        for name in ("plausible", "sample", "holdout-plausible")
        for q in load_questions(REPO / "evals" / "questions" / f"{name}.jsonl")
    }
    assert not asked & {e.lower() for e in examples}


def test_an_examples_file_without_examples_is_refused_by_name(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("# only a comment\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty\.txt holds no off-topic examples"):
        load_examples(path)
    assert load_examples(EXAMPLES_FILE)  # the shipped file is fine


def test_likeness_is_high_for_requests_like_the_examples_and_explained_by_neighbours(examples):
    # A request close to the examples' kind scores higher than a product question does...
    assert examples.likeness("write a short poem about autumn") > examples.likeness(
        "how do i archive a project we finished"
    ) + 0.1
    # ...a Spanish one is read through the multilingual model (and its English rendering)...
    assert examples.likeness("escribe un poema sobre el otoño", "write poem autumn") > 0.4
    # ...and the nearest examples say why.
    nearest = examples.nearest("can you write a limerick about my cat")
    assert len(nearest) == 3 and nearest[0][1] >= nearest[-1][1]
    assert any("poem" in text or "joke" in text or "haiku" in text for text, _ in nearest)


@pytest.mark.parametrize("question", PRODUCT)
def test_product_questions_are_answered(answerer, question):
    answer = answerer.answer(question)
    assert answer.answered, answer.handoff.reason


@pytest.mark.parametrize("question", ELSEWHERE)
def test_off_topic_requests_are_declined_with_a_handoff(answerer, question):
    answer = answerer.answer(question)
    assert not answer.answered and answer.citations == []
    assert answer.handoff.suggested


@pytest.mark.parametrize("question", [
    "how do I connect tasklane to slack so a channel gets task updates?",
    "my google calendar shows every tasklane task twice",
])
def test_product_questions_naming_other_products_are_answered(answerer, question):
    answer = answerer.answer(question)
    assert answer.answered, answer.handoff.reason
    assert answer.citations


def test_the_llm_gate_refuses_off_topic_but_not_merely_unclear_questions(answerer):
    assert "does not cover" in (answerer.refusal("can you write a limerick about my cat") or "")
    assert answerer.refusal("how do i archive a project we finished") is None
    assert "legal advice" in (answerer.refusal("is it legal to read my staff's email?") or "")


def test_a_help_center_that_covers_an_examples_subject_answers_it(knowledge, tmp_path):
    """Spreadsheet questions are off topic for a project tool, not for a spreadsheet app."""
    docs = tmp_path / "sheets"
    docs.mkdir()
    (docs / "freeze-rows.md").write_text(
        "---\ntitle: Freeze the top row\n---\n\n"
        "Keep your header row visible while you scroll through a long sheet.\n\n"
        "## Freeze rows\n\n"
        "1. Select the row under the ones you want to keep in view.\n"
        "2. Open **View** and choose **Freeze top row**.\n"
        "3. Scroll down: the frozen row stays at the top of the sheet.\n",
        encoding="utf-8",
    )
    (docs / "remove-duplicates.md").write_text(
        "---\ntitle: Remove duplicate rows\n---\n\n"
        "Clean a list that has the same entry twice.\n\n"
        "## Remove duplicates\n\n"
        "Select the range, open **Data** and choose **Remove duplicates**. Pick the columns "
        "that must match; every repeated row after the first is deleted.\n",
        encoding="utf-8",
    )
    assert sync_path(knowledge, "sheets", docs).ok
    kb = knowledge.get("sheets")
    sheets = ExtractiveAnswerer(
        Retriever.of(knowledge, kb), knowledge.embedder, off_topic=knowledge.off_topic,
        pair_judge=knowledge.pair_judge,
    )
    assert knowledge.off_topic is not None
    _, units, gists = sheets.retriever.answer_vectors()
    kept = knowledge.off_topic.keep_for(units, gists)
    set_aside = {e for e, keep in zip(knowledge.off_topic.examples, kept, strict=True) if not keep}
    assert "how do i freeze the top row in excel so it stays visible when i scroll" in set_aside
    assert len(set_aside) < 5  # only what the two articles cover

    answer = sheets.answer("how do i freeze the top row so it stays visible when i scroll?")
    assert answer.answered, answer.handoff.reason
    assert answer.citations[0].article_id == "freeze-rows.md"
    # Still off topic there: a request about nothing the sheets help center covers.
    assert not sheets.answer("can you write a limerick about my cat").answered


def test_the_other_products_section_is_read_from_its_header(tmp_path):
    examples = tmp_path / "examples.txt"
    examples.write_text(
        "# -- how to do something in another product (many kinds of software) --\n"
        "how do i unhide a column in excel\n\n"
        "# -- small talk --\n"
        "tell me a joke\n",
        encoding="utf-8",
    )
    assert about_other_products(examples) == {"how do i unhide a column in excel"}
    shipped = about_other_products()
    assert "how do i unhide a column in excel" in shipped and "tell me a joke" not in shipped
    assert shipped < set(load_examples())
