"""Markdown and Docusaurus MDX: front matter, what is dropped, what is kept."""

from __future__ import annotations

import re
import textwrap

import pytest

from assistant.knowledge.documents import ParseError
from ingest.markdown_files import parse_markdown
from ingest.markup import clean_markdown, sections_from_markdown, split_front_matter, strip_tags


def parse(text: str):
    return parse_markdown(textwrap.dedent(text), default_id="goals.md", url=None, source="goals.md")


def body_of(doc) -> str:
    return "\n\n".join(s.text for s in doc.sections)


def prose_of(doc) -> str:
    """The body without fenced code (where markup is legitimately kept)."""
    return re.sub(r"```.*?```", "", body_of(doc), flags=re.DOTALL)


MDX_PAGE = """\
---
title: Custom event goals
audience: admin
level: intermediate
---

import CtaBox from '@site/src/components/CtaBox';
import useBaseUrl from '@docusaurus/useBaseUrl';

Custom events let you count clicks on buttons. See [pageview goals](pageview-goals.md) too.

<CtaBox
  headline="Testing this workflow for your site? Custom events work during the free trial"
  link="https://plausible.io/register"
  linkText="Start free trial"
/>

<img alt="Goal settings" src={useBaseUrl('img/goal-settings.png')} />

![Add goal dialog](img/add-goal.png)

## Add a CSS class name <Required />

:::tip Using WordPress?
Our plugin adds the class names for you.
:::

<details>
<summary>Why is my event not showing?</summary>

The goal name must match the class name exactly.

</details>

```html
<button class="plausible-event-name=Signup">Sign up</button>
# Not a heading
```

## Verify the goal

Click the button, then open your dashboard.
"""


def test_front_matter_fields_are_read():
    doc = parse(MDX_PAGE)
    assert (doc.title, doc.audience, doc.level, doc.locale) == (
        "Custom event goals", "admin", "intermediate", "en")


def test_front_matter_closer_with_trailing_whitespace():
    meta, body = split_front_matter("---\ntitle: Goals\n--- \n\nText here.\n")
    assert meta == {"title": "Goals"}
    assert body.strip() == "Text here."


def test_mdx_import_lines_are_dropped():
    assert "import" not in body_of(parse(MDX_PAGE))


def test_jsx_components_are_dropped():
    text = prose_of(parse(MDX_PAGE))
    for leftover in ("CtaBox", "headline=", "Start free trial", "Required", "useBaseUrl", "<", ">"):
        assert leftover not in text


def test_heading_keeps_its_text_without_the_component():
    paths = [s.heading_path for s in parse(MDX_PAGE).sections]
    assert ("Add a CSS class name",) in paths


def test_admonition_text_is_kept():
    text = body_of(parse(MDX_PAGE))
    assert "Using WordPress?" in text
    assert "Our plugin adds the class names for you." in text
    assert ":::" not in text


def test_details_summary_content_is_kept():
    text = body_of(parse(MDX_PAGE))
    assert "Why is my event not showing?" in text
    assert "The goal name must match the class name exactly." in text
    assert "<details>" not in text and "<summary>" not in text


def test_code_fence_is_kept_verbatim():
    assert (
        '```html\n<button class="plausible-event-name=Signup">Sign up</button>\n'
        "# Not a heading\n```"
    ) in body_of(parse(MDX_PAGE))


def test_heading_inside_code_is_not_a_heading():
    paths = [s.heading_path for s in parse(MDX_PAGE).sections]
    assert all("Not a heading" not in p for path in paths for p in path)
    assert ("Verify the goal",) in paths


def test_fence_line_with_info_string_inside_open_fence_is_content():
    body = '```\n{"a": 1}\n```json title="Response 200 OK"\n# still code\n```\n\n## After\n\nDone.'
    _, sections = sections_from_markdown(clean_markdown(body))
    assert '```json title="Response 200 OK"\n# still code\n```' in sections[0].text
    assert sections[-1].heading_path == ("After",)


def test_link_text_kept_and_url_dropped():
    text = body_of(parse(MDX_PAGE))
    assert "See pageview goals too." in text
    assert "pageview-goals.md" not in text


def test_images_are_dropped():
    text = body_of(parse(MDX_PAGE))
    assert "Add goal dialog" not in text and "img/" not in text


def test_strip_tags_keeps_inner_text_and_drops_scripts():
    assert strip_tags("Press <kbd>Ctrl</kbd>+<kbd>K</kbd><script>x()</script>") == "Press Ctrl+K"


def test_first_h1_is_the_title_when_front_matter_has_none():
    doc = parse("# Invite your team\n\nSend invites from Settings.\n")
    assert doc.title == "Invite your team"


def test_description_is_indexed_as_intro():
    doc = parse("---\ntitle: Tags\ndescription: Group work with tags.\n---\n\nBody.\n")
    assert doc.sections[0].text == "Group work with tags."


def test_invalid_yaml_front_matter_names_the_problem():
    with pytest.raises(ParseError, match=r"front matter is not valid YAML \(line \d+\)"):
        parse("---\ntitle: [Goals\naudience: admin\n---\n\nBody.\n")


def test_unclosed_front_matter():
    with pytest.raises(ParseError, match="never closed"):
        parse("---\ntitle: Goals\n\nBody.\n")


def test_bad_audience_names_the_field():
    with pytest.raises(ParseError, match="'audience' is 'everyone'; expected one of admin"):
        parse("---\ntitle: Goals\naudience: everyone\n---\n\nBody.\n")


def test_bad_level_names_the_field():
    with pytest.raises(ParseError, match="'level'"):
        parse("---\ntitle: Goals\nlevel: expert\n---\n\nBody.\n")


def test_no_title_falls_back_to_the_file_name():
    assert parse("---\naudience: admin\n---\n\nJust a paragraph.\n").title == "Goals"


def test_empty_body_is_an_error():
    with pytest.raises(ParseError, match="empty body"):
        parse("---\ntitle: Goals\n---\n\n")
