"""Helpers for the operations tests: a local HTTP server on 127.0.0.1, and the musicgen_ft
test helpers (tiny dataset, configs, training subprocess) loaded by path so no other folder's
conftest is imported.
"""

import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_spec = importlib.util.spec_from_file_location(
    "ops_ft_helpers", REPO / "tests" / "musicgen_ft" / "ft_helpers.py")
ft = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ft)
make_dataset, tiny_config, refusing_writes = ft.make_dataset, ft.tiny_config, ft.refusing_writes

ENV = dict(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")


class LocalServer:
    """A real HTTP server on 127.0.0.1 (any free port) that records every request.

    ``routes`` maps a path to a callable ``(server, request) -> (status, body)``; the default
    for an unknown path is 404. Requests are recorded as dicts with ``method``, ``path``,
    ``headers`` (names in lower case), ``body`` and ``time`` (``time.time()`` when it arrived).
    """

    def __init__(self, routes=None, delay=0.0):
        self.routes = dict(routes or {})
        self.delay = delay
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                req = {"method": self.command, "path": self.path,
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "body": self.rfile.read(n).decode() if n else "", "time": time.time()}
                server.requests.append(req)
                if server.delay:
                    time.sleep(server.delay)
                route = server.routes.get(self.path)
                status, body = route(server, req) if route else (404, "not found")
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def at(self, path):
        return [r for r in self.requests if r["path"] == path]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def start(module, *args, env_extra=None):
    """``python -m module args...`` as a real subprocess in the repo (1 torch thread)."""
    env = dict(os.environ, **ENV, **(env_extra or {}))
    return subprocess.Popen([sys.executable, "-m", module, *map(str, args)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(predicate, timeout, what, proc=None, every=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended (rc {proc.returncode}) before {what}:\n"
                                 + proc.stdout.read())
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


train_steps = ft.train_steps
