"""Learning paths in YAML: stages in order, steps that say how they complete."""

from __future__ import annotations

import pytest
from conftest import MINI_KB

from assistant.knowledge.documents import ParseError
from ingest.learning_paths import parse_learning_path

PATH = (MINI_KB / "paths" / "manager-onboarding.yaml").read_text()


def parse(text: str):
    return parse_learning_path(text, default_id="paths/p.yaml", url=None, source="paths/p.yaml")


def test_valid_path():
    doc = parse(PATH)
    assert (doc.id, doc.kind, doc.audience, doc.title) == (
        "manager-onboarding", "path", "manager", "Manager onboarding")
    assert [s["stage"] for s in doc.extra["stages"]] == ["week1", "month1"]
    assert doc.extra["stages"][0]["steps"][0]["completes"] == "feature_used: schedule.publish"


def test_stages_are_indexed_as_numbered_sections():
    doc = parse(PATH)
    assert doc.sections[1].heading_path == ("Week 1",)
    assert doc.sections[1].text.splitlines()[0] == "1. Publish your first weekly schedule"


def test_step_without_completes_defaults_to_viewed():
    doc = parse("title: T\naudience: admin\nstages:\n- stage: week1\n  steps:\n  - ref: a.md\n")
    assert doc.extra["stages"][0]["steps"][0]["completes"] == "viewed"


def test_stage_out_of_order():
    text = PATH.replace("stage: week1", "stage: month3")
    with pytest.raises(ParseError, match=r"stages\[1\]: stage 'month1' is out of order"):
        parse(text)


def test_unknown_stage():
    with pytest.raises(ParseError, match=r"stages\[0\]: 'stage' must be one of week1"):
        parse(PATH.replace("stage: week1", "stage: day1"))


def test_bad_completes():
    text = PATH.replace('completes: "feature_used: schedule.publish"', "completes: clicked around")
    with pytest.raises(ParseError, match=r"steps\[0\]: 'completes' is 'clicked around'"):
        parse(text)


def test_unknown_audience():
    with pytest.raises(ParseError, match="'audience' is 'owner'"):
        parse(PATH.replace("audience: manager", "audience: owner"))


def test_missing_stages():
    with pytest.raises(ParseError, match="missing 'stages'"):
        parse("title: Manager onboarding\naudience: manager\n")
