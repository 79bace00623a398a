#!/usr/bin/env python
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A loopback HTTP proxy in front of the local AWS emulator that records every API call.

Tests and benchmarks point ``AWS_ENDPOINT_URL`` at the proxy and then ask which operations
were made (``Recorder.calls()``), e.g. to assert that a second run makes zero write calls.
The operation is read from the request as AWS protocols put it: ``X-Amz-Target`` (JSON
protocols: Secrets Manager, ECS, KMS, Logs, CloudTrail), ``Action=`` (query protocols: IAM,
STS, EC2, CloudWatch), else ``METHOD /path`` (REST: S3, Lambda).  Request bodies are never
stored (they hold secret values).
"""
import http.client
import http.server
import re
import threading
import urllib.parse

# Operation-name prefixes that change state (used for "zero write calls" assertions).
WRITE_PREFIXES = (
    "Create", "Put", "Update", "Delete", "Tag", "Untag", "Restore", "Rotate", "Cancel",
    "Replicate", "Remove", "Register", "Deregister", "Attach", "Detach", "Start", "Stop",
    "Set", "Add", "Modify", "Enable", "Disable", "Associate", "Disassociate", "Upload",
)
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


def operation_of(headers, body, method, path):
    target = headers.get("X-Amz-Target")
    if target:
        service, op = target.rsplit(".", 1) if "." in target else ("", target)
        return f"{service.split('_')[0].lower()}:{op}"
    if body and b"Action=" in body[:4096]:
        match = re.search(rb"(?:^|&)Action=([A-Za-z0-9]+)", body[:4096])
        host = headers.get("Host", "")
        if match:
            return f"{_service_from_auth(headers) or host}:{match.group(1).decode()}"
    query = urllib.parse.urlparse(path).query
    match = re.search(r"(?:^|&)Action=([A-Za-z0-9]+)", query)
    if match:
        return f"{_service_from_auth(headers)}:{match.group(1)}"
    return f"{_service_from_auth(headers)}:{method} {urllib.parse.urlparse(path).path}"


def _service_from_auth(headers):
    match = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers.get("Authorization", ""))
    return match.group(1) if match else ""


def is_write(operation):
    op = operation.split(":", 1)[-1]
    if " " in op:  # REST
        method = op.split(" ", 1)[0]
        return method in ("PUT", "POST", "DELETE", "PATCH")
    return op.startswith(WRITE_PREFIXES)


class Recorder:
    """Start with ``Recorder(upstream_url).start()``; ``url`` is the endpoint to use."""

    def __init__(self, upstream):
        parsed = urllib.parse.urlparse(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self._calls = []
        self._lock = threading.Lock()
        # Tests may emulate documented AWS behaviour moto lacks (e.g. a ListSecrets answer that
        # lags behind recent changes): fn(operation, response body bytes) -> body bytes.
        self.rewrite = None
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes; avoid +40 ms per call

            def log_message(self, *args):  # quiet
                pass

            def _proxy(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                op = operation_of(self.headers, body, self.command, self.path)
                if not self.path.startswith("/moto-api"):
                    with recorder._lock:
                        recorder._calls.append(op)
                conn = http.client.HTTPConnection(*recorder.upstream, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                rewrite = recorder.rewrite
                if rewrite is not None and 200 <= resp.status < 300:
                    data = rewrite(op, data)
                self.send_response(resp.status, resp.reason)
                for key, value in resp.getheaders():
                    if key.lower() not in _HOP_HEADERS and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _proxy

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def calls(self):
        with self._lock:
            return list(self._calls)

    def writes(self):
        return [op for op in self.calls() if is_write(op)]

    def reset(self):
        with self._lock:
            self._calls.clear()
