"""Obsidian vaults: wiki links, transclusions (whole note, heading, block), callouts, comments.

tests/fixtures/vault is a small vault: ``Onboarding.md`` uses every construct, ``people/Clock
in.md`` is found by name from another folder, ``loops/`` embed each other.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES

from ingest.loaders import discover, load_file
from ingest.markdown_files import parse_markdown
from ingest.sources import SourceTree

VAULT = FIXTURES / "vault"


def load(rel: str, root: Path = VAULT):
    result = load_file(root / rel, root, None, SourceTree(root))
    assert result.error is None, result.error
    return result


def text_of(doc) -> str:
    return "\n\n".join(s.text for s in doc.sections)


@pytest.fixture(scope="module")
def onboarding():
    return load("Onboarding.md")


def test_front_matter_and_title(onboarding):
    doc = onboarding.documents[0]
    assert (doc.title, doc.audience, doc.tags) == (
        "Onboarding a new hire", "manager", ["onboarding", "managers"])


def test_wiki_links_become_their_text(onboarding):
    text = text_of(onboarding.documents[0])
    assert "Share Shift swaps and show them how to\nswap a shift;" in text
    assert "payroll details are in Payroll > Export to CSV." in text
    assert "See First shift above." in text
    assert "[[" not in text and "]]" not in text


def test_whole_note_transclusion_found_by_name_in_another_folder(onboarding):
    sections = {s.heading_path: s.text for s in onboarding.documents[0].sections}
    # The note's H1 sits under the heading the embed is in.
    assert sections[("First shift", "Clock in")].startswith("Open the app and tap **Clock in**")
    assert ("First shift", "Clock in", "If the button is grey") in sections


def test_heading_transclusion_takes_that_section_only(onboarding):
    sections = {s.heading_path: s.text for s in onboarding.documents[0].sections}
    assert "Payroll > Export" in sections[("Paying the new hire", "Export to CSV")]
    assert sections[("Paying the new hire", "Export to CSV", "Columns")] == (
        "Name, hours, overtime, rate.")
    text = text_of(onboarding.documents[0])
    assert "last Friday" not in text and "correct hours" not in text


def test_block_transclusion():
    text = text_of(load("Shift swaps.md").documents[0])
    assert "Open the app and tap **Clock in** when your shift starts." in text
    assert "^clock-step" not in text and "button is grey" not in text


def test_missing_note_keeps_the_link_text_and_warns(onboarding):
    assert "Benefits handbook" in text_of(onboarding.documents[0])
    assert onboarding.warnings == [
        "![[Benefits handbook]]: no note named 'Benefits handbook' in the vault; "
        "kept the link text"]


def test_a_cycle_is_cut_with_a_warning():
    result = load("loops/Loop one.md")
    sections = {s.heading_path: s.text for s in result.documents[0].sections}
    assert sections[()] == "Loop one's own text."
    assert sections[("Loop two",)] == "Loop two's own text.\n\nLoop one"  # the link text
    assert result.warnings == [
        "![[Loop one]]: transclusion cycle (Loop one → Loop two → Loop one); kept the link text"]


def test_image_embeds_are_dropped(onboarding):
    assert "clock-diagram" not in text_of(onboarding.documents[0])


def test_callouts_keep_title_and_body_without_markers(onboarding):
    text = text_of(onboarding.documents[0])
    assert ("Before day one:\nSend the invite from **People > Invite** a week ahead.\n"
            "Note:\nThe invite link works for 7 days.") in text
    assert "Warning:\nNever share your manager PIN." in text
    assert "[!" not in text and "\n>" not in text


def test_comments_are_dropped_and_tags_stay_words(onboarding):
    text = text_of(onboarding.documents[0])
    assert "Dana" not in text and "%%" not in text and "remark" not in text
    assert "Check the rota together on the first morning." in text
    assert "#onboarding" in text  # a word of the text, not a heading
    assert all("onboarding" not in part for s in onboarding.documents[0].sections
               for part in s.heading_path)


def test_a_note_without_a_heading_is_titled_by_its_file_name():
    assert load("getting-started_with-SSO.md").documents[0].title == "Getting started with SSO"


def test_the_vault_settings_folder_and_attachments_are_not_documents():
    files, skipped = discover(VAULT)
    assert not any(".obsidian" in p.parts for p in files)
    assert [(p.name, reason) for p, reason in skipped] == [
        ("clock-diagram.png", "not a knowledge format")]


def test_code_is_left_as_written():
    body = "# Notes\n\n```bash\n[[ -f x ]] && echo %%x%%\n```\n\nRun `![[not an embed]]`.\n"
    text = text_of(parse_markdown(body, default_id="n.md", url=None, source="n.md"))
    assert "[[ -f x ]] && echo %%x%%" in text and "`![[not an embed]]`" in text


def test_an_edited_note_changes_the_notes_that_embed_it(tmp_path):
    vault = Path(shutil.copytree(VAULT, tmp_path / "vault"))
    (vault / "people" / "Clock in.md").write_text("# Clock in\n\nScan the QR code at the door.\n")
    assert "Scan the QR code" in text_of(load("Onboarding.md", vault).documents[0])


def test_ingest_reports_files_skipped_with_reasons_and_warnings(cli, data_dir, tmp_path):
    from assistant.cli.main import app

    vault = Path(shutil.copytree(VAULT, tmp_path / "vault"))
    (vault / "README.md").write_text("# About this vault\n")
    (vault / "broken.txt").write_bytes("Caf\xe9\n\nText.\n".encode("latin-1"))
    result = cli.invoke(app, ["ingest", str(vault), "--kb", "vault"])
    assert result.exit_code == 1, result.output  # a file failed
    assert result.stdout.startswith(
        "vault: 7 files ingested, 0 unchanged, 2 skipped, 1 failed; "
        "documents: 7 added, 0 updated, 0 removed;")
    assert "  skipped (README): README.md\n" in result.stdout
    assert "  skipped (not a knowledge format): attachments/clock-diagram.png\n" in result.stdout
    assert "  warning: Onboarding.md: ![[Benefits handbook]]: no note named" in result.stderr
    assert "  failed: broken.txt: not UTF-8 text (byte 3)" in result.stderr

    again = cli.invoke(app, ["ingest", str(vault), "--kb", "vault", "--json"])
    report = json.loads(again.stdout)
    assert report["files"] == {"ingested": 0, "unchanged": 7, "skipped": 2, "failed": 1}
    assert report["skipped"] == [
        {"file": "README.md", "reason": "README"},
        {"file": "attachments/clock-diagram.png", "reason": "not a knowledge format"}]
