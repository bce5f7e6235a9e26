"""How often ``detect_language`` names the language a question is labelled with.

    python -m evals.language_eval                      # every question set + the request kinds
    python -m evals.language_eval --errors FILE...     # chosen files, listing each miss

Reads JSONL files whose lines carry a language (``lang``) and a text (``question`` or
``text``); ``#`` lines are comments. Reports accuracy overall and on short queries (at most
four words, the search-box style where stop words are scarce).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from assistant.language import detect_language

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = (
    *sorted((ROOT / "evals" / "questions").glob("*.jsonl")),
    ROOT / "assistant" / "data" / "request_kinds.jsonl",
)
SHORT = 4


def labelled(path: Path) -> list[tuple[str, str]]:
    """(text, language) of every line that has both."""
    out: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{number}: not JSON ({exc.msg})") from None
        text = row.get("question") or row.get("text")
        language = row.get("lang")
        if isinstance(text, str) and isinstance(language, str):
            out.append((text, language))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="JSONL files (default: all sets)")
    parser.add_argument("--errors", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    total = right = short = short_right = 0
    for path in args.files or DEFAULT_FILES:
        rows = labelled(path)
        hits = 0
        for text, language in rows:
            found = detect_language(text)
            ok = found == language
            hits += ok
            if len(text.split()) <= SHORT:
                short += 1
                short_right += ok
            if not ok and args.errors:
                print(f"  {path.name}: {text[:70]!r} is {language}, detected {found}")
        print(f"{path.name:32s} {hits}/{len(rows)}")
        total += len(rows)
        right += hits
    print(f"all: {right}/{total} = {right / max(1, total):.3f}; "
          f"short (<= {SHORT} words): {short_right}/{short} = {short_right / max(1, short):.3f}")


if __name__ == "__main__":
    main()
