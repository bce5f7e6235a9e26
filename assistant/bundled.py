"""Files shipped inside the package: fitted model weights, example lists and web pages."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA_DIR", "WEB_DIR"]

DATA_DIR = Path(__file__).parent / "data"
WEB_DIR = Path(__file__).parent / "web"
