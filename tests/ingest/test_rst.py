"""reStructuredText (Sphinx): titles, includes, tabs, admonitions, roles, substitutions, tables.

tests/fixtures/sphinx_docs is a small hand-written Sphinx project; the real one is the
Mattermost documentation in the team's shared corpora (read in place, never copied).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from conftest import FIXTURES, SHARED

from assistant.knowledge.retrieval import Retriever
from ingest.loaders import discover, load_file
from ingest.rst_files import parse_rst
from ingest.sources import SourceTree
from ingest.sync import sync_path

SPHINX = FIXTURES / "sphinx_docs"
MATTERMOST = SHARED / "corpora" / "mattermost-docs" / "source"
END_USER_GUIDE = MATTERMOST / "end-user-guide"
# Markup that must not survive outside code.
LEFTOVERS = re.compile(
    r":(?:ref|doc|kbd|guilabel|menuselection|term):"
    r"|^\s*\.\. [\w:-]+::"
    r"|(?<![\w|])\|[A-Za-z][\w -]*\|(?![\w|])"
    r"|<[\w/.:#-]+>`_",
    re.MULTILINE,
)


def load(rel: str, root: Path = SPHINX):
    return load_file(root / rel, root, None, SourceTree(root))


def sections_of(doc) -> dict[tuple[str, ...], str]:
    out: dict[tuple[str, ...], str] = {}
    for section in doc.sections:  # a heading met twice (text after tabs) joins its parts
        out[section.heading_path] = "\n\n".join(filter(None, [out.get(section.heading_path),
                                                               section.text]))
    return out


def text_of(doc) -> str:
    return "\n\n".join(s.text for s in doc.sections)


def prose_of(doc) -> str:
    """The text outside fenced code and inline code, where no markup may be left."""
    text = re.sub(r"^(```|~~~).*?^\1", "", text_of(doc), flags=re.DOTALL | re.MULTILINE)
    return re.sub(r"`[^`\n]+`", "", text)


def parse(text: str):
    return parse_rst(textwrap.dedent(text), file=None, default_id="page.rst", url=None,
                     source="page.rst")


@pytest.fixture(scope="module")
def clock_in():
    return load("guide/clock-in.rst")


@pytest.fixture(scope="module")
def mattermost() -> Path:
    if not END_USER_GUIDE.is_dir():
        pytest.fail(f"the Mattermost docs corpus is missing: expected it at {MATTERMOST} "
                    "(the team's shared folder beside the checkout)")
    return END_USER_GUIDE


# --- structure -----------------------------------------------------------------------------


def test_title_and_section_levels_follow_first_appearance():
    doc = parse("""\
        =========
        Timesheets
        =========

        Intro.

        Export
        ~~~~~~

        Export text.

        Columns
        -------

        Column text.

        Corrections
        ~~~~~~~~~~~

        Correction text.
        """)
    assert doc.title == "Timesheets"
    assert list(sections_of(doc)) == [(), ("Export",), ("Export", "Columns"), ("Corrections",)]


def test_overline_and_underline_is_its_own_style():
    doc = load("index.rst").documents[0]
    assert doc.title == "Shiftboard documentation"
    assert text_of(doc).startswith("Welcome to the Shiftboard help center.")


def test_tabs_are_subheadings_and_the_text_after_returns_to_the_section(clock_in):
    sections = sections_of(clock_in.documents[0])
    assert sections[("Web",)].startswith("Go to Schedule > My shifts, then select **Clock in**.")
    assert sections[("Mobile",)].startswith("1. Open the Shiftboard app and tap **Clock**.")
    assert "Clocking in twice in a row ends the first shift." in sections[()]


def test_group_tabs_inside_tabs(clock_in):
    sections = sections_of(clock_in.documents[0])
    assert sections[("Break rules", "Overtime", "Hourly staff")] == "Overtime is paid every week."
    assert sections[("Break rules", "Overtime", "Salaried staff")] == (
        "Overtime is banked as time off.")
    assert "shiftboard export --week 12" in sections[("Break rules", "Overtime")]


def test_a_tab_inside_a_list_is_a_bold_lead_in():
    doc = parse("""\
        Install
        =======

        1. Download the app.

           .. tab:: Android

              Open the Play Store.
        """)
    assert text_of(doc) == "1. Download the app.\n   **Android**\n   Open the Play Store."


# --- includes and substitutions ----------------------------------------------------------


def test_includes_relative_and_from_the_source_root_with_start_after(clock_in):
    text = text_of(clock_in.documents[0])
    assert text.startswith("Available on the Business and Enterprise plans")
    assert "2. Tap **Clock in**. The app asks for your location once." in text  # "/_snippets"
    assert ":nosearch:" not in text and "badge" not in text


def test_missing_include_and_include_cycle_are_warnings_not_failures(clock_in):
    assert clock_in.error is None
    assert clock_in.warnings == [
        "include 'missing-snippet.rst' in guide/clock-in.rst: missing-snippet.rst does not "
        "exist; left out",
        "include 'loop-a.rst' in _snippets/loop-b.rst: include cycle; left out",
    ]
    assert "Loop A text.\n\nLoop B text." in text_of(clock_in.documents[0])


def test_substitutions(clock_in):
    sections = sections_of(clock_in.documents[0])
    assert "Overtime starts after 8 hours a day. The *1.5x* rate applies." in sections[
        ("Break rules", "Overtime")]  # defined below its use, with markup inside
    assert "unpaid ✓." in sections[("Break rules",)]  # unicode:: from conf.py's rst_epilog
    assert "Managers can set a reminder that fires" in sections[("Break rules",)]  # image
    assert "|" not in prose_of(clock_in.documents[0]).replace(" | ", "")


def test_unknown_substitution_reads_as_its_name_unless_it_is_a_picture():
    doc = parse("Title\n=====\n\nPress |save-button| then |gear-icon|.\n")
    assert text_of(doc) == "Press save button then."


def test_a_fragment_marked_nosearch_is_skipped():
    result = load("_snippets/plans.rst")
    assert (result.documents, result.error) == ([], None)
    assert result.skipped.startswith(":nosearch: fragment")


# --- inline markup, directives, tables --------------------------------------------------


def test_roles_and_links_read_as_text(clock_in):
    text = text_of(clock_in.documents[0])
    assert "Your manager sees it on the\nTimesheet page" not in text  # paragraphs are joined
    assert "on the Timesheet page, and payroll uses it" in text  # :guilabel:`&Timesheet`
    assert "ask your manager to edit your timesheet." in text  # :ref:`text <label>`
    assert "Go to Schedule > My shifts" in text  # :menuselection:
    assert "Press Ctrl + K to search" in text  # :kbd:
    assert "See paid break and the labour law summary for details." in text  # :term:, link
    assert "https://" not in text


def test_bare_references_read_as_their_target():
    doc = load("guide/time-off.rst").documents[0]
    assert text_of(doc).startswith("Ask for a day off from the Clock in page's sidebar.")
    assert sections_of(doc)[("Before you ask",)].endswith("See also:\nClock in")


def test_admonitions_keep_their_text(clock_in):
    text = text_of(clock_in.documents[0])
    assert "Note:\nIf you forget to clock in" in text
    assert "Warning:\nYour account is locked after three missed clock-outs." in text
    assert "Did you know?\nManagers can set a reminder" in text


def test_code_blocks_and_literal_blocks_are_fenced(clock_in):
    text = text_of(clock_in.documents[0])
    assert "```bash\nshiftboard export --week 12 > timesheet.csv\n```" in text
    assert ("Exporting works from the command line too:\n\n"
            "```\nshiftboard export --month 3\n```") in text


def test_comments_images_raw_toctree_and_meta_are_dropped(clock_in):
    text = text_of(clock_in.documents[0]) + text_of(load("index.rst").documents[0])
    for leftover in ("TODO", "comment", "mobile-clock.png", "phone app", "<div", "maxdepth",
                     "guide/time-off\n", "scheduling app for shift workers", ":orphan:"):
        assert leftover not in text


def test_tables_become_rows(clock_in):
    rows = sections_of(clock_in.documents[0])[("Edit a timesheet",)]
    for row in (
        "Role | Can clock | Can edit", "Manager | Yes | Yes",  # simple table
        "Rounding | Rounds to 5 minutes; Applies to every shift",  # grid table, list in a cell
        "Grace period | Late clock-ins within 3 minutes count as on time.",
        "**Reminders**", "Shift start | 10 minutes before",  # list-table with its title
        "Device | Supported", "Android | Android 10+",  # csv-table with :header:
    ):
        assert f"\n{row}\n" in f"\n{rows}\n"


def test_learnloop_fields_are_metadata():
    doc = load("api/tokens.rst").documents[0]
    assert (doc.title, doc.audience, doc.level, doc.tags) == (
        "API tokens", "admin", "advanced", ["api", "security"])
    assert text_of(doc).startswith("Create a token under Settings > API.")


def test_the_sphinx_project_folder(tmp_path):
    files, skipped = discover(SPHINX)
    tree = SourceTree(SPHINX)
    results = [load_file(f, SPHINX, None, tree) for f in files]
    assert [(p.name, reason) for p, reason in skipped] == [("conf.py", "not a knowledge format")]
    assert [r.error for r in results if r.error] == []
    assert sorted(r.rel for r in results if r.skipped) == [
        "_snippets/mobile-steps.rst", "_snippets/plans.rst"]
    docs = {d.id: d for r in results for d in r.documents}
    assert docs["guide/shift_swap-FAQ.rst"].title == "Shift swap FAQ"
    assert all(not LEFTOVERS.search(prose_of(d)) for d in docs.values())


# --- MyST: Sphinx's Markdown -------------------------------------------------------------


def test_myst_directives_and_roles():
    result = load("guide/kiosk.md")
    doc = result.documents[0]
    assert (doc.title, doc.audience, result.warnings) == ("Clock in on a kiosk", "end_user", [])
    assert text_of(doc) == (
        "A kiosk is a shared tablet by the door. See breaks and\nTime off.\n\n"
        "Note:\nThe kiosk needs Wi-Fi to record a clock-in.\n\n"
        "Forgot your PIN?\nAsk your manager: Reset PIN is on their screen.\n\n"
        "1. Open the Shiftboard app and tap **Clock**.\n"
        "2. Tap **Clock in**. The app asks for your location once.\n\n"  # {include} of .rst
        "Tip:\nPress Enter to confirm.\n\n"  # {eval-rst}
        '```bash\necho "{ref}`kept as code`"\n```')


def test_myst_includes_in_the_mattermost_changelog(mattermost):
    source = mattermost.parent
    result = load("product-overview/mattermost-v11-changelog.md", source)
    text = text_of(result.documents[0])
    assert text.startswith("Important:\n\n- Support for Mattermost Server v10.11 Extended Support "
                           "Release has come to the end of its life cycle")
    assert "```{" not in text and "(release-v11.10-feature-release)=" not in text


# --- the real Mattermost documentation ----------------------------------------------------


@pytest.fixture(scope="module")
def end_user_guide(mattermost):
    files, skipped = discover(mattermost)
    tree = SourceTree(mattermost)
    return skipped, {r.rel: r for r in (load_file(f, mattermost, None, tree) for f in files)}


def test_every_end_user_guide_page_loads(end_user_guide):
    skipped, results = end_user_guide
    assert (len(results), skipped) == (97, [])
    assert {rel: r.error for rel, r in results.items() if r.error} == {}
    # The one include the corpus cannot satisfy: Sphinx generates that file at build time.
    assert {rel: r.warnings for rel, r in results.items() if r.warnings} == {
        "agents.rst": ["include '/agents/docs/user_guide.md' in agents.rst: user_guide.md does "
                       "not exist; left out"]}


def test_no_markup_is_left_in_the_end_user_guide(end_user_guide):
    _, results = end_user_guide
    leftovers = {
        rel: match.group(0)
        for rel, result in results.items()
        for doc in result.documents
        if (match := LEFTOVERS.search(prose_of(doc)))
    }
    assert leftovers == {}


def test_send_messages_reads_well(end_user_guide):
    doc = end_user_guide[1]["collaborate/send-messages.rst"].documents[0]
    sections = sections_of(doc)
    assert doc.title == "Send messages"
    # The badge include, a :doc: role, and the tabs of the page.
    assert sections[()].startswith(
        "Available on Entry, Professional, Enterprise, and Enterprise Advanced plans\n\n"
        "You can send messages in public and private channels")
    assert "you can send it immediately, schedule it for later, or set its priority." in (
        sections[()])
    assert sections[("Web/Desktop",)].startswith(
        "Enter a message in the text field, then select **Send** to send the message.")
    assert "- Press Enter on Windows or Linux, or ↵ on Mac." in sections[("Web/Desktop",)]
    assert sections[("Send burn-on-read messages", "Mobile")].endswith("3. Tap **Send**")
    assert sections[("Send burn-on-read messages",)].endswith(
        "by selecting the **Burn-on-read** icon above the sent message.")


def test_a_list_table_of_the_end_user_guide(end_user_guide):
    text = text_of(end_user_guide[1]["access/access-your-workspace.rst"].documents[0])
    assert ("Error: **Server authentication required** | Your server requires an "
            "authentication secret.") in text


def test_a_few_end_user_guide_pages_end_to_end(knowledge):
    access = END_USER_GUIDE / "access"
    report = sync_path(knowledge, "mattermost", access)
    assert (report.failed, len(report.files_ingested), report.skipped) == ([], 6, [])
    kb = knowledge.get("mattermost")
    chunks = kb.catalog.chunks()
    assert not [c.doc_id for c in chunks if LEFTOVERS.search(c.body)]
    hits = Retriever(knowledge, kb).search("how do I install the app on my Android phone", k=3)
    assert hits[0].article_id == "install-android-app.rst"
