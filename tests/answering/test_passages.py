"""Answer units: sentences, and numbered steps kept whole."""

from __future__ import annotations

from assistant.answering.passages import split_units

BODY = """Bulk edit changes many tasks at once. It works in List and Board views.

1. Select the tasks.

2. In the bulk action bar, choose what to change:
   - **Assignee**: set a new assignee.
3. Confirm.

```bash
curl https://api.example/v1/tasks
```"""


def test_steps_stay_one_unit_across_blank_lines():
    steps = [u for u in split_units(BODY) if u.kind == "steps"]
    assert len(steps) == 1
    assert steps[0].text.startswith("1. Select the tasks.")
    assert steps[0].text.rstrip().endswith("3. Confirm.")
    assert "**Assignee**" in steps[0].text


def test_paragraphs_split_into_sentences_in_order():
    sentences = [u.text for u in split_units(BODY) if u.kind == "sentence"]
    assert sentences == ["Bulk edit changes many tasks at once.",
                         "It works in List and Board views."]


def test_code_block_is_kept_whole():
    code = [u for u in split_units(BODY) if u.kind == "code"]
    assert len(code) == 1 and "curl https://api.example/v1/tasks" in code[0].text


def test_positions_follow_reading_order():
    positions = [u.position for u in split_units(BODY)]
    assert positions == sorted(positions)
