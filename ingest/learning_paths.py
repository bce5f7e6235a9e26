"""Learning paths: YAML with ``id, title, audience, industry?`` and ordered ``stages``.

Each stage holds steps that point at an article, tip or workflow (``ref``, a path under the
ingested root) and say how the step completes: ``viewed`` or a product event such as
``feature_used: reports.schedule``. A path is indexed like a short article so that "what
should a new admin learn first?" finds it; its structure is kept in ``extra``.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from assistant.knowledge.documents import AUDIENCES, Document, ParseError, Section
from assistant.learning.rules import STAGE_TITLES, STAGES

__all__ = ["parse_learning_path"]

_COMPLETES = re.compile(r"^(viewed|[a-z_]+:\s*[\w.\-]+)$")


def parse_learning_path(text: str, *, default_id: str, url: str | None, source: str) -> Document:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParseError(f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ParseError("a learning path must be a mapping with id, title, audience and stages")
    for key in ("title", "audience", "stages"):
        if key not in data:
            raise ParseError(f"learning path is missing '{key}'")
    if data["audience"] not in AUDIENCES:
        raise ParseError(
            f"'audience' is '{data['audience']}'; expected one of {', '.join(AUDIENCES)}"
        )
    stages = data["stages"]
    if not isinstance(stages, list) or not stages:
        raise ParseError("'stages' must be a non-empty list")
    seen: list[str] = []
    normalized: list[dict[str, Any]] = []
    sections: list[Section] = []
    for s_index, stage in enumerate(stages):
        where = f"stages[{s_index}]"
        if not isinstance(stage, dict) or stage.get("stage") not in STAGES:
            raise ParseError(f"{where}: 'stage' must be one of {', '.join(STAGES)}")
        name = str(stage["stage"])
        if seen and STAGES.index(name) <= STAGES.index(seen[-1]):
            raise ParseError(
                f"{where}: stage '{name}' is out of order (expected {' → '.join(STAGES)})"
            )
        seen.append(name)
        steps = stage.get("steps")
        if not isinstance(steps, list) or not steps:
            raise ParseError(f"{where}: 'steps' must be a non-empty list")
        items: list[dict[str, str]] = []
        for st_index, step in enumerate(steps):
            swhere = f"{where}.steps[{st_index}]"
            if not isinstance(step, dict) or not isinstance(step.get("ref"), str):
                raise ParseError(
                    f"{swhere}: each step needs a 'ref' (path of an article, tip or workflow)"
                )
            completes = str(step.get("completes", "viewed")).strip()
            if not _COMPLETES.match(completes):
                raise ParseError(
                    f"{swhere}: 'completes' is '{completes}'; use 'viewed' or 'feature_used: <key>'"
                )
            title = str(step.get("title") or step["ref"])
            items.append({"ref": step["ref"], "title": title, "completes": completes})
        normalized.append({"stage": name, "steps": items})
        body = "\n".join(f"{i}. {item['title']}" for i, item in enumerate(items, start=1))
        sections.append(Section((STAGE_TITLES[name],), body))
    title = str(data["title"])
    intro = f"Learning path for {str(data['audience']).replace('_', ' ')}s: {title}."
    return Document(
        id=str(data.get("id") or default_id),
        title=title,
        sections=[Section((), intro), *sections],
        kind="path",
        url=url,
        locale=str(data.get("locale") or "en"),
        audience=str(data["audience"]),
        level="beginner",
        tags=[str(data["industry"])] if data.get("industry") else [],
        source=source,
        extra={"stages": normalized, "industry": data.get("industry")},
    )
