"""The reader's model (fit, save, load, threshold) and its leave-one-KB-out training split."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answering.reader import CLASSES, FEATURES, READER_FILE, Evidence, Reader
from evals.reader_training import (
    Row,
    choose_threshold,
    decisions,
    fit_reader,
    leave_one_out,
    stacked,
)


def evidence(similarity: float, elsewhere: float = 0.2, coverage: float = 0.8) -> Evidence:
    pair = 8 * (coverage - 0.6)  # the pair judge's logit: high when the passage answers
    return Evidence(
        similarity, 0.1, similarity, elsewhere, coverage, coverage, 1.0, 4, False, pair
    )


def rows(kb: str, rng: np.random.Generator, n: int = 40, shift: float = 0.0) -> list[Row]:
    """Answerable questions score high with full coverage, gaps score middling with a
    missing term, questions about elsewhere score low and resemble off-topic requests."""
    out = []
    for i in range(n):
        noise = rng.normal(0, 0.03, 3)
        out.append(Row(kb, kb, f"{kb}-a{i}", "how-to", "answer",
                       evidence(0.7 + shift + noise[0], 0.2, 0.9).vector(), True))
        out.append(Row(kb, kb, f"{kb}-g{i}", "unanswerable", "gap",
                       evidence(0.45 + shift + noise[1], 0.25, 0.4).vector(), True))
        out.append(Row(kb, kb, f"{kb}-e{i}", "out-of-scope", "elsewhere",
                       evidence(0.2 + shift + noise[2], 0.6, 0.1).vector(), True))
    return out


def test_a_fitted_reader_tells_the_three_cases_apart_and_survives_a_round_trip(tmp_path):
    data = rows("a", np.random.default_rng(0))
    reader = fit_reader(data)
    figures = decisions(reader, data)
    assert figures["wrong_declines"] <= 0.05
    assert figures["out_of_scope_declined"] == 1.0 and figures["gap_declined"] == 1.0
    assert reader.judge(evidence(0.45, 0.25, 0.4)).likely == "gap"
    assert reader.judge(evidence(0.2, 0.6, 0.1)).likely == "elsewhere"
    assert reader.judge(evidence(0.75, 0.2, 0.9)).answerable

    reader.save(tmp_path / "reader.json")
    again = Reader.load(tmp_path / "reader.json")
    probe = np.stack([evidence(s).vector() for s in (0.2, 0.5, 0.8)])
    assert np.allclose(again.probabilities(probe), reader.probabilities(probe), atol=1e-4)
    assert again.threshold == pytest.approx(reader.threshold, abs=1e-4)


def test_a_reader_file_for_other_features_is_refused(tmp_path):
    path = tmp_path / "reader.json"
    fit_reader(rows("a", np.random.default_rng(1), n=10)).save(path)
    path.write_text(path.read_text().replace('"terms"', '"words"'))
    with pytest.raises(ValueError, match="other features"):
        Reader.load(path)


def test_the_threshold_declines_at_most_five_percent_of_answerable_questions():
    data = rows("a", np.random.default_rng(2), n=100)
    reader = Reader.fit(np.stack([r.features for r in data]), [r.label for r in data])
    reader.threshold = choose_threshold(reader, data)
    p = reader.probabilities(np.stack([r.features for r in data if r.label == "answer"]))[:, 0]
    assert (p < reader.threshold).mean() <= 0.05


def test_leave_one_out_never_fits_on_the_held_out_kb_or_its_questions():
    rng = np.random.default_rng(3)
    a, b = rows("a", rng), rows("b", rng)
    # KB c's rows are shifted far up: a reader that saw them would move its line.
    c = rows("c", rng, shift=0.25)
    # Questions written for c asked of a: also c's, never in c's reader.
    foreign = [Row("a", "c", "c-x", "how-to", "elsewhere", evidence(0.95).vector(), False)]
    readers = leave_one_out(a + b + c + foreign, ["a", "b", "c"])
    alone = fit_reader(a + b)
    probe = np.stack([evidence(s).vector() for s in (0.3, 0.5, 0.7, 0.9)])
    assert np.allclose(readers["c"].probabilities(probe), alone.probabilities(probe))
    assert readers["c"].threshold == alone.threshold
    # c's reader, never having seen c, declines c's shifted gaps less than a's reader does.
    assert decisions(readers["c"], c)["wrong_declines"] <= 0.05


class _Constant:
    """A judge whose every logit is one number: which judge scored a row shows in its column."""

    def __init__(self, logit: float) -> None:
        self.logit = logit

    def score_pairs(self, pairs):
        return np.full(len(pairs), self.logit, dtype=np.float32)


def test_stacked_rows_are_scored_by_the_judge_that_never_saw_their_kb():
    pairs = (("how do I export?", "Export › Steps: open settings"),)
    made = [
        Row(kb, source, f"{kb}-{i}", "how-to", "answer", evidence(0.7).vector(), True, pairs)
        for i, (kb, source) in enumerate([("a", "a"), ("b", "b"), ("a", "c"), ("b", "a")])
    ]
    out = stacked(made, {"a": _Constant(-1.0), "b": _Constant(2.0)})
    pair = FEATURES.index("pair")
    assert [r.question_id for r in out] == [r.question_id for r in made]  # order kept
    assert [r.features[pair] for r in out] == [-1.0, 2.0, -1.0, 2.0]
    assert out[0].features[0] == made[0].features[0]  # only the pair column changes


def test_the_shipped_reader_matches_the_features_it_is_given():
    reader = Reader.load(READER_FILE)
    mean, _, weights, bias = reader.model.parameters
    assert weights.shape == (len(FEATURES), len(CLASSES)) and len(mean) == len(FEATURES)
    assert bias.shape == (len(CLASSES),)
    assert 0.0 < reader.threshold < 1.0
    assert "command" in reader.provenance


def test_the_reader_and_the_support_model_keep_their_files_through_save_and_load(tmp_path):
    from assistant.models.grounding_model import FEATURES as SUPPORT_FEATURES
    from assistant.models.grounding_model import SupportModel

    rng = np.random.default_rng(3)
    reader = Reader.load(READER_FILE)
    reader.save(tmp_path / "reader.json")
    x = rng.normal(size=(20, len(FEATURES)))
    assert np.allclose(Reader.load(tmp_path / "reader.json").probabilities(x),
                       reader.probabilities(x), atol=1e-5)
    support = SupportModel.load()
    support.save(tmp_path / "grounding.json")
    x = rng.normal(size=(20, len(SUPPORT_FEATURES)))
    assert np.allclose(SupportModel.load(tmp_path / "grounding.json").probabilities(x),
                       support.probabilities(x), atol=1e-5)
