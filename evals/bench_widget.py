"""Benchmark: the embeddable widget's weight and how soon it starts answering.

Ingests the sample knowledge base (``knowledge/``) into a scratch data directory, starts
``learnloop serve --dev`` on it and a host page on another loopback port that embeds
``/widget.js`` with a user token, then in headless Chromium (``/usr/bin/chromium``) opens the
widget and asks ``--questions`` questions of ``evals/questions/sample.jsonl`` one after the
other. Reports the gzipped size of ``/widget.js`` (gzip -9) and, per question, the time from
the Enter key's submit to the first server-sent event the widget parsed (its
``performance`` marks ``learnloop:ask`` and ``learnloop:first-event``): median, p95 and max.
Not a test: figures go to evals/RESULTS.md with this command.

    python -m evals.bench_widget [--questions 20]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from assistant.access.registry import DEFAULT_TENANT, AccessRegistry
from assistant.storage.database import open_database
from evals.bench_search import ROOT
from evals.serving import learnloop, percentile, scratch_env, serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
QUESTIONS = ROOT / "evals" / "questions" / "sample.jsonl"


@contextmanager
def host_page(learnloop_url: str, token: str) -> Iterator[str]:
    """A plain host product page embedding the widget, on its own port; yields its URL."""
    page = (f'<!doctype html><html><head><meta charset="utf-8"><title>Host</title></head>'
            f'<body><h1>Host product</h1><script src="{learnloop_url}/widget.js" '
            f'data-kb="sample" data-token="{token}"></script></body></html>').encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def first_event_delays(page_url: str, questions: list[str]) -> list[float]:
    """Milliseconds from submit to the first streamed event, one per question."""
    delays = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(page_url)
        page.get_by_role("button", name="Help", exact=True).click()
        box = page.get_by_role("textbox", name="Your question")
        for n, question in enumerate(questions, start=1):
            page.evaluate("() => performance.clearMarks()")
            box.fill(question)
            box.press("Enter")
            page.locator(".turn").nth(n - 1).locator(".meta, .a.declined").first.wait_for()
            delays.append(page.evaluate(
                "() => performance.getEntriesByName('learnloop:first-event')[0].startTime"
                " - performance.getEntriesByName('learnloop:ask')[0].startTime"))
        browser.close()
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    questions = questions[: args.questions]

    with scratch_env() as env:
        data = Path(env["LEARNLOOP_DATA_DIR"])
        learnloop(env, "ingest", str(ROOT / "knowledge"), "--kb", "sample",
                  "--base-url", "https://help.tasklane.example/")
        access = AccessRegistry(open_database(None, data, "access.sqlite"))
        access.ensure_tenant(DEFAULT_TENANT)
        token = access.issue_token(DEFAULT_TENANT, "bench-user", account_id="bench",
                                   locale="en", ttl=3600)
        # Dev mode: a page on any loopback origin may embed the widget.
        with serving(env) as client:
            script = client.get("/widget.js").content
            base = str(client.base_url).rstrip("/")
            with host_page(base, token) as page_url:
                delays = first_event_delays(page_url, questions)

    print(f"/widget.js: {len(script):,} bytes, {len(gzip.compress(script, 9)):,} bytes gzipped")
    print(f"first streamed event after Enter, {len(delays)} questions: "
          f"median {statistics.median(delays):.1f} ms  p95 {percentile(delays, 0.95):.1f} ms  "
          f"max {max(delays):.1f} ms")


if __name__ == "__main__":
    main()
