"""``learnloop eval answers``: citation accuracy, declines and latency of an answerer.

- first citation in gold / any citation in gold, over answerable questions it answered;
- wrong-decline rate: answerable questions it declined;
- decline precision and recall on ``answerable: false`` questions, and the decline rate of
  near-misses (topic covered, detail not) reported on its own, with the share of near-misses
  whose answer quotes the nearest passage under "the help center doesn't state this" (an
  answer with citations and ``answered`` false);
- answer words quoted: over answerable questions answered with a first citation in gold,
  the share of the content words of the question's reference ``answer`` (stemmed, stop
  words out) that the quoted text holds — whether the answer quotes the part of the article
  that does what was asked, not only the right article. Reference answers are written in
  the set's words, not copied, so 1.0 is rare; the figure compares answerers on one set;
- latency p50 / p95 per question, measured around the answerer call.

Every figure is also given per question language and per question kind (``by_lang``,
``by_kind``); same-domain unanswerable questions (``kind: unanswerable``: the right product,
an answer the help center lacks) are reported apart from out-of-scope ones. The decline
decision itself is trained by ``python -m evals.reader_training``.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from assistant.answering.answers import Answer
from assistant.language import analyze, detect_language
from evals.retrieval_eval import Question

__all__ = ["format_answer_report", "run_answer_eval"]


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


_CITED = re.compile(r"\[\d+\]\s*$")  # a quoted unit ends with its citation number
_MARKER = re.compile(r"\s*\[\d+\]")


def _quotes(answer: Answer) -> str:
    """The quoted text of an answer, without its sources list and citation markers."""
    quoted = [part for part in answer.answer.split("\n\n") if _CITED.search(part)]
    return _MARKER.sub("", "\n".join(quoted))


def _words_quoted(reference: str, answer: Answer) -> float | None:
    """The share of the reference answer's content words in the quoted text (None when
    there is no reference, or it is written in another language than the quotes)."""
    quotes = _quotes(answer)
    language = detect_language(reference)
    if not reference.strip() or not quotes or detect_language(quotes) != language:
        return None
    wanted = set(analyze(reference, language))
    if not wanted:
        return None
    return len(wanted & set(analyze(quotes, language))) / len(wanted)


def run_answer_eval(
    answer: Callable[[str], Answer], questions: Sequence[Question]
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    latencies: list[float] = []
    for q in questions:
        started = time.perf_counter()
        result = answer(q.question)
        latencies.append(1000 * (time.perf_counter() - started))
        cited = [c.article_id for c in result.citations]
        rows.append(
            {
                "id": q.id,
                "lang": q.lang,
                "kind": q.kind,
                "answerable": q.answerable,
                "answered": result.answered,
                "confidence": round(result.confidence, 4),
                "reason": result.handoff.reason,
                "cited": cited,
                "first_in_gold": bool(cited) and cited[0] in q.gold,
                "any_in_gold": any(c in q.gold for c in cited),
                "words_quoted": len(_quotes(result).split()),
                "answer_words_quoted": _words_quoted(q.answer, result)
                if q.answerable and result.answered and cited and cited[0] in q.gold
                else None,
            }
        )
    answerable = [r for r in rows if r["answerable"]]
    answered = [r for r in answerable if r["answered"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    declined = [r for r in rows if not r["answered"]]

    def share(part: Sequence[Any], whole: Sequence[Any]) -> float:
        return len(part) / len(whole) if whole else 0.0

    by_lang: dict[str, dict[str, float]] = {}
    for lang in sorted({r["lang"] for r in rows}):
        mine = [r for r in answerable if r["lang"] == lang]
        mine_answered = [r for r in mine if r["answered"]]
        by_lang[lang] = {
            "answerable": len(mine),
            "first_citation_in_gold": share([r for r in mine if r["first_in_gold"]], mine),
            "wrong_decline_rate": share([r for r in mine if not r["answered"]], mine),
            "first_in_gold_when_answered": share(
                [r for r in mine_answered if r["first_in_gold"]], mine_answered
            ),
        }
    by_kind: dict[str, dict[str, float]] = {}
    for kind in sorted({r["kind"] for r in rows}):
        mine = [r for r in rows if r["kind"] == kind]
        good = [r for r in mine if r["answerable"]]
        by_kind[kind] = {
            "questions": len(mine),
            "declined": share([r for r in mine if not r["answered"]], mine),
            "first_citation_in_gold": share([r for r in good if r["first_in_gold"]], good),
        }
    quoted = [r["answer_words_quoted"] for r in rows if r["answer_words_quoted"] is not None]
    near = [r for r in unanswerable if r["kind"] == "near-miss"]
    gaps = [r for r in unanswerable if r["kind"] == "unanswerable"]
    outside = [r for r in unanswerable if r["kind"] not in ("near-miss", "unanswerable")]
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "first_citation_in_gold": share([r for r in answerable if r["first_in_gold"]], answerable),
        "any_citation_in_gold": share([r for r in answerable if r["any_in_gold"]], answerable),
        "first_in_gold_when_answered": share([r for r in answered if r["first_in_gold"]], answered),
        "wrong_decline_rate": share([r for r in answerable if not r["answered"]], answerable),
        "decline_precision": share([r for r in declined if not r["answerable"]], declined),
        "decline_recall": share([r for r in unanswerable if not r["answered"]], unanswerable),
        "out_of_scope_declined": share([r for r in outside if not r["answered"]], outside),
        "unanswerable_declined": share([r for r in gaps if not r["answered"]], gaps),
        "near_miss_declined": share([r for r in near if not r["answered"]], near),
        "near_miss_not_stated": share([r for r in near if not r["answered"] and r["cited"]], near),
        "answer_words_quoted": round(statistics.fmean(quoted), 3) if quoted else 0.0,
        "answers_with_half_the_words": share([x for x in quoted if x >= 0.5], quoted),
        "mean_words_quoted": round(statistics.fmean([r["words_quoted"] for r in answered]), 1)
        if answered
        else 0.0,
        "latency_ms_p50": round(statistics.median(latencies), 1) if latencies else 0.0,
        "latency_ms_p95": round(_percentile(latencies, 0.95), 1),
        "by_lang": by_lang,
        "by_kind": by_kind,
        "rows": rows,
    }


def format_answer_report(report: dict[str, Any]) -> str:
    keys = [
        "first_citation_in_gold",
        "any_citation_in_gold",
        "first_in_gold_when_answered",
        "wrong_decline_rate",
        "decline_precision",
        "decline_recall",
        "out_of_scope_declined",
        "unanswerable_declined",
        "near_miss_declined",
        "near_miss_not_stated",
        "answer_words_quoted",
        "answers_with_half_the_words",
    ]
    lines = [f"{report['questions']} questions ({report['answerable']} answerable)"]
    lines += [f"  {key:<30} {report[key]:.3f}" for key in keys]
    lines.append(f"  {'mean_words_quoted':<30} {report['mean_words_quoted']:.1f}")
    for lang, values in report["by_lang"].items():
        lines.append(
            f"  lang={lang:<4} first citation in gold {values['first_citation_in_gold']:.3f}, "
            f"wrong declines {values['wrong_decline_rate']:.3f} (n={int(values['answerable'])})"
        )
    for kind, values in report["by_kind"].items():
        lines.append(
            f"  kind={kind:<16} declined {values['declined']:.3f}"
            + (
                f", first citation in gold {values['first_citation_in_gold']:.3f}"
                if kind not in ("out-of-scope", "unanswerable", "near-miss")
                else ""
            )
            + f" (n={int(values['questions'])})"
        )
    lines.append(f"  latency p50 {report['latency_ms_p50']} ms, p95 {report['latency_ms_p95']} ms")
    return "\n".join(lines)
