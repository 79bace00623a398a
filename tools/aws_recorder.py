#!/usr/bin/env python
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A loopback HTTP proxy in front of the local AWS emulator that records every API call, and
can add latency and inject faults.

Recording
---------
Tests and benchmarks point ``AWS_ENDPOINT_URL`` at the proxy and then ask which operations were
made (``Recorder.calls()``), e.g. to assert that a second run makes zero write calls.  The
operation is read from the request as AWS protocols put it: ``X-Amz-Target`` (JSON protocols:
Secrets Manager, ECS, KMS, Logs, CloudTrail), ``Action=`` (query protocols: IAM, STS, EC2,
CloudWatch), else ``METHOD /path`` (REST: S3, Lambda).  Request bodies are never stored (they
hold secret values); a call is recorded as its operation name, arrival time, the fault it got
and the status codes, nothing else.  Every request counts, retries included; requests to
``/moto-api/...`` and to the proxy's own ``/_recorder/...`` endpoints are not recorded.

- ``calls()`` -> ["secretsmanager:CreateSecret", ...]; ``writes()`` -> the state-changing ones
  (``is_write``); ``timed_calls()`` -> [(time.time() of arrival, operation), ...];
- ``records()`` -> every call as a ``Call`` (seq, time, operation, fault, placement, status,
  upstream_status); ``injected()`` -> only the calls that got a fault;
- ``reset()`` clears the log (not the fault settings; ``set_faults(None)`` does that).

Latency (``Recorder(url, latency=0.02)`` or ``recorder.latency = 0.02`` at any time)
------------------------------------------------------------------------------------
Seconds added to every call the proxy answers, before it is forwarded (or answered with a fault):
a model of the round trip to AWS, where every call costs tens of milliseconds.  Calls are handled
on threads of their own, so concurrent calls overlap as they do against AWS.

Faults (``Recorder(url, faults=Faults(rate=0.25, seed=1))``, ``set_faults(...)`` at run time)
---------------------------------------------------------------------------------------------
Each eligible call (see the filters) draws from a ``random.Random(seed)``: with probability
``rate`` it gets one of ``kinds`` (drawn uniformly), placed ``before`` or ``after`` forwarding:

- ``throttle``: HTTP 400 in the protocol's own error format -- JSON protocols (the request has
  ``X-Amz-Target``: Secrets Manager, ECS, KMS, Logs, CloudTrail, and CloudWatch as botocore 1.44
  sends it) ``{"__type": "ThrottlingException", "message": "Rate exceeded"}`` with
  ``x-amzn-ErrorType``; query protocols (IAM, STS) ``<ErrorResponse><Error><Code>Throttling``; EC2
  as EC2 throttles, ``<Response><Errors><Error><Code>RequestLimitExceeded</Code>`` with HTTP 503;
  S3 ``<Error><Code>SlowDown</Code>`` with HTTP 503; other REST services (Lambda)
  ``TooManyRequestsException`` with HTTP 429;
- ``500``: HTTP 500 ``InternalFailure`` (S3 and EC2: ``InternalError``);
- ``503``: HTTP 503 ``ServiceUnavailable``;
- ``close``: the connection is closed without an answer (botocore: ``ConnectionClosedError``);
- ``slow``: the answer is delayed by ``slow_seconds`` (a client whose read timeout is shorter
  sees ``ReadTimeoutError``), then given.

``before``: the emulator never sees the request.  ``after``: the request is forwarded and applied,
and the emulator's answer is replaced by the fault -- the "lost answer" that makes a create look
failed although it happened (``Call.upstream_status`` says what the emulator answered).
botocore retries every kind in its ``standard`` (the default) and ``legacy`` retry modes (checked
in ``tests/integration/test_recorder.py``); each retry is a new call and draws again.  Note that
botocore's standard mode gives up after 3 attempts and keeps a retry quota per client.

``Faults`` fields: ``rate`` (0..1), ``seed`` (same seed, same sequence of decisions over the
sequence of eligible calls; concurrent callers may interleave differently), ``kinds``,
``placement`` ("before", "after" or "both": drawn per fault), ``writes_only``, ``operations``
(only these; "CreateSecret" or "secretsmanager:CreateSecret"), ``exclude`` (never these),
``slow_seconds`` and ``max_in_a_row`` (after that many faults in a row the next eligible call
passes, so a retrying client always gets through).  A dict with these keys works too.

Run-time control over HTTP (for a proxy in another process, e.g. ``main()`` below):
``GET|POST|DELETE /_recorder/faults`` (JSON body: the ``Faults`` fields), ``POST
/_recorder/latency`` (``{"seconds": 0.02}``), ``GET /_recorder/calls`` (the records as JSON),
``POST /_recorder/reset``.

Command line: ``python tools/aws_recorder.py --upstream URL [--port N] [--latency-ms MS]
[--fault-rate R --seed S --kinds throttle 500 ...]`` runs the proxy until interrupted.
"""
import argparse
import dataclasses
import http.client
import http.server
import json
import random
import re
import socket
import threading
import time
import urllib.parse
import uuid

# Operation-name prefixes that change state (used for "zero write calls" assertions).
WRITE_PREFIXES = (
    "Create", "Put", "Update", "Delete", "Tag", "Untag", "Restore", "Rotate", "Cancel",
    "Replicate", "Remove", "Register", "Deregister", "Attach", "Detach", "Start", "Stop",
    "Set", "Add", "Modify", "Enable", "Disable", "Associate", "Disassociate", "Upload",
)
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}
KINDS = ("throttle", "500", "503", "close", "slow")
PLACEMENTS = ("before", "after")
CONTROL_PREFIX = "/_recorder/"


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


# -- faults -----------------------------------------------------------------------------------
@dataclasses.dataclass
class Faults:
    """What to inject; see the module docstring."""

    rate: float = 0.0
    seed: object = None
    kinds: tuple = KINDS
    placement: str = "both"
    writes_only: bool = False
    operations: tuple = ()
    exclude: tuple = ()
    slow_seconds: float = 1.0
    max_in_a_row: object = None

    def __post_init__(self):
        self.kinds = tuple(str(kind) for kind in self.kinds)
        self.operations = tuple(self.operations or ())
        self.exclude = tuple(self.exclude or ())
        unknown = set(self.kinds) - set(KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"fault kinds must be a non-empty subset of {KINDS}, got {self.kinds}")
        if self.placement not in PLACEMENTS + ("both",):
            raise ValueError(f"placement must be 'before', 'after' or 'both', got {self.placement!r}")
        if not 0.0 <= float(self.rate) <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, got {self.rate}")

    @classmethod
    def coerce(cls, value):
        if value is None or isinstance(value, cls):
            return value
        return cls(**value)

    def applies_to(self, operation):
        def named(names):
            return operation in names or operation.split(":", 1)[-1] in names

        if self.writes_only and not is_write(operation):
            return False
        if self.operations and not named(self.operations):
            return False
        return not named(self.exclude)


@dataclasses.dataclass
class Call:
    """One request as the proxy saw it (never its body)."""

    seq: int
    time: float
    operation: str
    fault: object = None        # one of KINDS, or None
    placement: object = None    # "before" / "after" when fault is set
    status: object = None       # HTTP status the client got (None: connection closed)
    upstream_status: object = None  # what the emulator answered (None: not forwarded)

    def as_dict(self):
        return dataclasses.asdict(self)


class _FaultDecider:
    """The seeded sequence of decisions; one draw triple per eligible call."""

    def __init__(self, faults):
        self.faults = faults
        self.rng = random.Random(faults.seed)
        self.in_a_row = 0

    def decide(self, operation):
        faults = self.faults
        if not faults.applies_to(operation):
            return None, None
        # Always draw the same three numbers, so the sequence depends on seed and position only.
        hit = self.rng.random() < faults.rate
        kind = faults.kinds[self.rng.randrange(len(faults.kinds))]
        placement = self.rng.choice(PLACEMENTS) if faults.placement == "both" else faults.placement
        if hit and faults.max_in_a_row is not None and self.in_a_row >= faults.max_in_a_row:
            hit = False
        self.in_a_row = self.in_a_row + 1 if hit else 0
        return (kind, placement) if hit else (None, None)


def _protocol(headers, operation):
    if headers.get("X-Amz-Target"):
        return "json"
    service, op = operation.split(":", 1)
    if " " not in op:
        return "ec2" if service == "ec2" else "query"
    return "s3" if service == "s3" else "rest-json"


# (status, code, message) per protocol family and kind
_ERRORS = {
    "throttle": {"json": (400, "ThrottlingException", "Rate exceeded"),
                 "query": (400, "Throttling", "Rate exceeded"),
                 "ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
                 "s3": (503, "SlowDown", "Please reduce your request rate."),
                 "rest-json": (429, "TooManyRequestsException", "Rate exceeded")},
    "500": {"json": (500, "InternalFailure", "An internal error occurred (injected)."),
            "query": (500, "InternalFailure", "An internal error occurred (injected)."),
            "ec2": (500, "InternalError", "An internal error has occurred (injected)."),
            "s3": (500, "InternalError", "We encountered an internal error. Please try again."),
            "rest-json": (500, "ServiceException", "An internal error occurred (injected).")},
    "503": {family: (503, "ServiceUnavailable", "Service is unavailable (injected).")
            for family in ("json", "query", "ec2", "s3", "rest-json")},
}


def error_response(kind, headers, operation):
    """(status, headers, body bytes) of an injected error in the request's protocol."""
    family = _protocol(headers, operation)
    status, code, message = _ERRORS[kind][family]
    request_id = str(uuid.uuid4())
    if family in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        content_type = "application/x-amz-json-1.1" if family == "json" else "application/json"
        return status, {"Content-Type": content_type, "x-amzn-ErrorType": code, "x-amzn-RequestId": request_id}, body
    if family == "query":
        body = (f"<ErrorResponse><Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    elif family == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
    else:
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>{request_id}</RequestId></Error>")
    return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id, "x-amz-request-id": request_id}, body.encode()


# -- the proxy --------------------------------------------------------------------------------
class Recorder:
    """Start with ``Recorder(upstream_url).start()``; ``url`` is the endpoint to use.

    ``faults``: a ``Faults`` (or a dict of its fields) to inject from the first call;
    ``latency``: seconds added to every call; ``port``: 0 for a free one.  Both can be changed at run time
    (``set_faults()``, ``latency``, or the ``/_recorder/`` endpoints).
    """

    def __init__(self, upstream, faults=None, latency=0.0, port=0):
        parsed = urllib.parse.urlparse(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self._records = []
        self._lock = threading.Lock()
        self._decider = None
        self.latency = float(latency)
        # Tests may emulate documented AWS behaviour moto lacks (e.g. a ListSecrets answer that
        # lags behind recent changes): fn(operation, response body bytes) -> body bytes.
        self.rewrite = None
        self.set_faults(faults)
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes; avoid +40 ms per call

            def log_message(self, *args):  # quiet
                pass

            def _proxy(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    if self.path.startswith(CONTROL_PREFIX):
                        self._answer(*recorder._control(self.command, self.path, body))
                    elif self.path.startswith("/moto-api"):
                        self._answer(*recorder._forward(self.command, self.path, self.headers, body))
                    else:
                        recorder._handle(self, body)
                except (BrokenPipeError, ConnectionResetError, socket.timeout):
                    self.close_connection = True  # the client gave up (e.g. its read timeout)

            def _answer(self, status, headers, data, reason=None):
                self.send_response(status, reason)
                for key, value in headers:
                    if key.lower() not in _HOP_HEADERS and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _proxy

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- control ----------------------------------------------------------------------------
    def set_faults(self, faults=None, **fields):
        """Inject ``faults`` (a ``Faults``, a dict, or keyword fields) from the next call on;
        ``None`` and no fields: inject nothing.  Restarts the seeded sequence."""
        faults = Faults(**fields) if fields else Faults.coerce(faults)
        with self._lock:
            self._decider = _FaultDecider(faults) if faults is not None and faults.rate > 0 else None
            self.faults = faults

    def start(self):
        # A short poll interval: stop() returns within 50 ms (the default 0.5 s adds up in tests).
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def records(self):
        with self._lock:
            return list(self._records)

    def calls(self):
        return [record.operation for record in self.records()]

    def timed_calls(self):
        return [(record.time, record.operation) for record in self.records()]

    def injected(self):
        return [record for record in self.records() if record.fault is not None]

    def writes(self):
        return [op for op in self.calls() if is_write(op)]

    def reset(self):
        with self._lock:
            self._records.clear()

    # -- request handling -------------------------------------------------------------------
    def _handle(self, handler, body):
        op = operation_of(handler.headers, body, handler.command, handler.path)
        with self._lock:
            kind, placement = self._decider.decide(op) if self._decider else (None, None)
            record = Call(len(self._records) + 1, time.time(), op, kind, placement)
            self._records.append(record)
            slow_seconds = self.faults.slow_seconds if kind == "slow" else 0.0
        if self.latency:
            time.sleep(self.latency)
        if kind is not None and placement == "before":
            if kind == "slow":
                time.sleep(slow_seconds)
            else:
                self._fault(handler, record, kind, op)
                return
        status, headers, data = self._forward(handler.command, handler.path, handler.headers, body)
        record.upstream_status = status
        rewrite = self.rewrite
        if rewrite is not None and 200 <= status < 300:
            data = rewrite(op, data)
        if kind is not None and placement == "after":
            if kind == "slow":
                time.sleep(slow_seconds)
            else:
                self._fault(handler, record, kind, op)
                return
        record.status = status
        handler._answer(status, headers, data)  # pylint: disable=protected-access

    def _fault(self, handler, record, kind, op):
        if kind == "close":
            handler.close_connection = True  # no answer at all: the socket is closed
            try:
                handler.wfile.flush()
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        status, headers, data = error_response(kind, handler.headers, op)
        record.status = status
        handler._answer(status, list(headers.items()), data)  # pylint: disable=protected-access

    def _forward(self, method, path, headers, body):
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in _HOP_HEADERS}
            conn.request(method, path, body=body, headers=forwarded)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def _control(self, method, path, body):
        name = urllib.parse.urlparse(path).path[len(CONTROL_PREFIX):].strip("/")
        try:
            payload = json.loads(body or b"null")
            if name == "faults" and method in ("POST", "PUT"):
                self.set_faults(payload or None)
            elif name == "faults" and method == "DELETE":
                self.set_faults(None)
            elif name == "latency" and method in ("POST", "PUT"):
                self.latency = float((payload or {}).get("seconds", 0.0))
            elif name == "reset" and method == "POST":
                self.reset()
            elif name == "calls" and method == "GET":
                return self._json(200, {"calls": [record.as_dict() for record in self.records()]})
            elif not (name in ("faults", "latency") and method == "GET"):
                return self._json(404, {"error": f"no {method} {path}"})
        except (TypeError, ValueError) as exc:
            return self._json(400, {"error": str(exc)})
        faults = dataclasses.asdict(self.faults) if self.faults else None
        return self._json(200, {"faults": faults, "latency": self.latency})

    @staticmethod
    def _json(status, data):
        return status, [("Content-Type", "application/json")], json.dumps(data).encode()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Recording, latency-adding, fault-injecting proxy in front of an AWS emulator.")
    parser.add_argument("--upstream", required=True, help="the emulator's URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="milliseconds added to every call")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--placement", default="both", choices=PLACEMENTS + ("both",))
    parser.add_argument("--writes-only", action="store_true")
    parser.add_argument("--slow-seconds", type=float, default=1.0)
    parser.add_argument("--max-in-a-row", type=int)
    args = parser.parse_args(argv)
    faults = Faults(rate=args.fault_rate, seed=args.seed, kinds=args.kinds, placement=args.placement,
                    writes_only=args.writes_only, slow_seconds=args.slow_seconds, max_in_a_row=args.max_in_a_row)
    recorder = Recorder(args.upstream, faults=faults, latency=args.latency_ms / 1000.0, port=args.port)
    print(recorder.url, flush=True)
    try:
        recorder.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        recorder.server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
