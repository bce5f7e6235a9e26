"""What an extractive answer quotes: the part of the article that does what was asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import clear_learnloop_env, knowledge_with

from assistant.answering.extractive import ExtractiveAnswerer, _continues
from assistant.knowledge.retrieval import Retriever
from assistant.settings import Settings
from ingest.sync import sync_path

# An introduction and a first section, each too long to be folded into the other (the
# chunker merges a passage under ~90 word pieces into its neighbour).
_INTRODUCTION = (
    "A channel's name is the first thing members see in the sidebar, in search results and in "
    "notifications, so a clear name helps everyone find the right conversation. Names can be up "
    "to 64 characters long, may contain letters, numbers, spaces and most punctuation, and the "
    "channel URL can be edited separately so that links people already shared keep working. "
    "Anyone can rename the channels they belong to, unless an administrator has restricted it."
)
_WEB = (
    "Select the channel name at the top of the screen, then select **Channel Settings** and "
    "type the new name. Members see the new name at once on every device, and the old name "
    "stays searchable in message history. A system message in the channel records who changed "
    "the name and when. Webhooks and slash commands keep working, because they point at the "
    "channel's internal ID rather than at its name; bots that look a channel up by its display "
    "name need their configuration updated."
)


@pytest.fixture(scope="module")
def shaped(tmp_path_factory, embedders, model_dir) -> ExtractiveAnswerer:
    with pytest.MonkeyPatch.context() as mp:
        clear_learnloop_env(mp)
        settings = Settings(data_dir=tmp_path_factory.mktemp("shaped-data"))
    knowledge = knowledge_with(settings, embedders, model_dir)
    folder: Path = tmp_path_factory.mktemp("shaped")
    # A one-line introduction, then a section long enough to be a passage of its own.
    (folder / "rename-channels.md").write_text(
        f"# Rename channels\n\n{_INTRODUCTION}\n\n## Web and desktop\n\n{_WEB}\n",
        encoding="utf-8",
    )
    (folder / "away-replies.md").write_text(
        "# Automatic replies\n\n"
        "Want to reply automatically to direct messages while you're out of the office?\n\n"
        "1. Open **Settings > Notifications**.\n"
        "2. Select **Automatic replies** and write your message.\n"
        "3. Select **Save**.\n\n"
        "Replies stop when you set your status back to online.\n",
        encoding="utf-8",
    )
    (folder / "mute.md").write_text(
        "# Mute a channel\n\n"
        "Web: Muted channels don't send notifications and are greyed out in the sidebar. "
        "Open the channel menu and select **Mute channel**.\n\n"
        "Mobile: Muted channels don't send notifications and are greyed out in the sidebar. "
        "Tap the channel name and turn on **Mute**.\n",
        encoding="utf-8",
    )
    assert sync_path(knowledge, "shaped", folder).ok
    kb = knowledge.get("shaped")
    return ExtractiveAnswerer(
        Retriever.of(knowledge, kb),
        knowledge.embedder,
        pair_judge=knowledge.pair_judge,
    )


def test_the_next_passage_of_an_article_is_read_in_order(shaped):
    retriever = shaped.retriever
    hit = retriever.search("how long can a channel name be", k=1)[0]
    assert hit.article_id == "rename-channels.md" and hit.heading == "Rename channels"
    passages = [hit]
    while (following := retriever.next_passage(passages[-1])) is not None:
        passages.append(following)
    # The introduction is a passage of its own; the section after it follows, in order.
    assert [p.heading for p in passages[:2]] == [
        "Rename channels",
        "Rename channels > Web and desktop",
    ]
    assert passages[1].body.startswith("Select the channel name")
    assert len(passages) == 2


def test_an_answer_at_the_end_of_a_passage_reads_on_into_the_section_that_follows(shaped):
    answer = shaped.answer("who can rename a channel")
    assert answer.answered and answer.citations[0].article_id == "rename-channels.md"
    assert "Anyone can rename" in answer.answer
    assert "**Channel Settings**" in answer.answer  # the steps, from the next passage
    body = answer.answer.split("\n\nSources:")[0]
    assert body.index("Anyone can rename") < body.index("Channel Settings")


def test_a_lead_in_question_is_quoted_with_the_steps_it_introduces(shaped):
    answer = shaped.answer("how do i set up an automatic reply to DMs when i'm on vacation")
    assert answer.answered and answer.citations[0].article_id == "away-replies.md"
    assert "2. Select **Automatic replies**" in answer.answer


def test_a_sentence_repeated_in_two_tabs_is_quoted_once(shaped):
    answer = shaped.answer("what does muting a channel do")
    assert answer.answered and answer.citations[0].article_id == "mute.md"
    assert answer.answer.count("Muted channels don't send notifications") == 1


@pytest.mark.parametrize(
    ("heading", "following", "continues"),
    [
        ("Rename channels", "Rename channels > Web and desktop", True),  # its subsection
        ("Rename channels > Web", "Rename channels > Web", True),  # a long section, split
        ("Rename channels > Web", "Rename channels > Mobile", False),  # a sibling
        ("Rename channels > Web", "Rename channels > Webhooks", False),  # not a prefix match
    ],
)
def test_which_passage_continues_a_section(heading, following, continues):
    assert _continues(heading, following) is continues
