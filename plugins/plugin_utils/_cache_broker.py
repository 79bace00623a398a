# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws lookup (leading underscore); may change without notice.

"""A memory-only value cache shared by the forked workers of one ansible-playbook run.

Why: Ansible runs every task for every host in a forked worker process, so a cache held in the
lookup plugin's module only lives for one task on one host.  Twenty hosts reading the same six
secrets would make twenty reads.  This broker is a small process, started on first use by a
worker, that holds cached GetSecretValue entries in memory for all workers of the same
controller (the ansible-playbook process) and hands out "claims" so that concurrent workers
missing the same keys wait for the one that fetches them (single flight).

Safety:
- Values live only in the broker's memory and travel over a Unix socket; nothing is written to
  disk.  The socket sits in a per-user directory created with mode 0700 (refused if it is not
  owned by the user or is accessible to others), and the broker accepts only peers with the same
  uid (SO_PEERCRED).  Anyone able to connect could, as that user, read the AWS credentials and
  fetch the secrets directly, so the broker adds no new reader.
- The broker exits when its controller process is gone, or after ``IDLE_EXIT`` seconds without a
  request; entries expire after the lookup's ``cache_ttl``.
- Keys are opaque strings built by the lookup from a hash of the connection settings, the secret
  id, stage and version; they never contain a value.

Protocol: one JSON line per request, one JSON line per answer.
  {"op": "claim", "keys": [...], "ttl": N} -> {"hits": {key: entry}, "claimed": [keys you fetch]}
  {"op": "put", "entries": {key: entry}, "ttl": N} -> {"ok": true}
  {"op": "release", "keys": [...]} -> {"ok": true}
Binary values travel base64-encoded under ``SecretBinaryB64``.
"""

import base64
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

IDLE_EXIT = 900  # seconds without a request before the broker exits
CLAIM_WAIT = 30  # seconds a worker waits for another worker's fetch before fetching itself
CONNECT_TIMEOUT = 3.0
_ENTRY_FIELDS = ("ARN", "Name", "VersionId", "VersionStages", "SecretString", "CreatedDate")


# ---------------------------------------------------------------------------------------
# client side (in the lookup's worker process)
# ---------------------------------------------------------------------------------------
def controller_pid():
    """PID of the ansible-playbook process this worker belongs to."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None else os.getpid()


def socket_dir():
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    path = os.path.join(base, f"secretsops-aws-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise OSError(f"{path} is not a private directory of this user")
    return path


def encode_entry(entry):
    out = {k: entry[k] for k in _ENTRY_FIELDS if entry.get(k) is not None}
    if "CreatedDate" in out:
        out["CreatedDate"] = str(out["CreatedDate"])
    if entry.get("SecretBinary") is not None:
        out["SecretBinaryB64"] = base64.b64encode(entry["SecretBinary"]).decode("ascii")
    return out


def decode_entry(data):
    entry = dict(data)
    if "SecretBinaryB64" in entry:
        entry["SecretBinary"] = base64.b64decode(entry.pop("SecretBinaryB64"))
    return entry


class BrokerClient:
    """Connects to (starting if needed) the broker of this controller.  Every method raises
    OSError/ValueError on trouble; the lookup then falls back to its in-process cache."""

    def __init__(self):
        if not hasattr(socket, "SO_PEERCRED"):
            raise OSError("no SO_PEERCRED on this platform: the broker could not check its peers")
        self.pid = controller_pid()
        self.path = os.path.join(socket_dir(), f"{self.pid}.sock")

    def _request(self, payload, timeout):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(self.path)
            sock.sendall(json.dumps(payload).encode("utf-8") + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        return json.loads(data.decode("utf-8"))

    def ensure_running(self):
        try:
            return self._request({"op": "ping"}, CONNECT_TIMEOUT)
        except OSError:
            pass
        # -I -S: isolated, no site-packages (the broker needs only the standard library); starts in
        # ~30 ms instead of ~110 ms with the venv's site initialisation.
        subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-I", "-S", os.path.abspath(__file__), self.path, str(self.pid)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True,
        )
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while time.monotonic() < deadline:
            try:
                return self._request({"op": "ping"}, CONNECT_TIMEOUT)
            except OSError:
                time.sleep(0.02)
        raise OSError("the secretsops cache broker did not start")

    def claim(self, keys, ttl):
        answer = self._request({"op": "claim", "keys": keys, "ttl": ttl}, CLAIM_WAIT + CONNECT_TIMEOUT)
        return {k: decode_entry(v) for k, v in answer["hits"].items()}, answer["claimed"]

    def put(self, entries, ttl):
        self._request({"op": "put", "entries": {k: encode_entry(v) for k, v in entries.items()}, "ttl": ttl}, CONNECT_TIMEOUT)

    def release(self, keys):
        self._request({"op": "release", "keys": keys}, CONNECT_TIMEOUT)


# ---------------------------------------------------------------------------------------
# server side (the broker process)
# ---------------------------------------------------------------------------------------
class _Store:
    def __init__(self):
        self.entries = {}  # key -> (expires, entry)
        self.claims = {}  # key -> claim deadline
        self.cond = threading.Condition()
        self.last_used = time.monotonic()

    def claim(self, keys, ttl):
        hits, claimed = {}, []
        with self.cond:
            self.last_used = time.monotonic()
            pending = list(dict.fromkeys(keys))
            deadline = time.monotonic() + CLAIM_WAIT
            while pending:
                now = time.monotonic()
                waiting = []
                for key in pending:
                    cached = self.entries.get(key)
                    if cached and cached[0] > now:
                        hits[key] = cached[1]
                    elif self.claims.get(key, 0) > now and now < deadline:
                        waiting.append(key)  # another worker is fetching it
                    else:
                        self.claims[key] = now + CLAIM_WAIT
                        claimed.append(key)
                pending = waiting
                if pending:
                    self.cond.wait(timeout=max(0.01, min(deadline, min(self.claims[k] for k in pending)) - now))
        return {"hits": hits, "claimed": claimed}

    def put(self, entries, ttl):
        with self.cond:
            self.last_used = time.monotonic()
            expires = time.monotonic() + max(0, int(ttl))
            for key, entry in entries.items():
                self.entries[key] = (expires, entry)
                self.claims.pop(key, None)
            self._purge()
            self.cond.notify_all()
        return {"ok": True}

    def release(self, keys):
        with self.cond:
            for key in keys:
                self.claims.pop(key, None)
            self.cond.notify_all()
        return {"ok": True}

    def _purge(self):
        now = time.monotonic()
        for key in [k for k, (expires, _entry) in self.entries.items() if expires <= now]:
            del self.entries[key]


def _peer(conn):
    """(pid, uid) of the connected process (Linux SO_PEERCRED)."""
    import struct

    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _gid = struct.unpack("3i", creds)
    return pid, uid


def _parent_pid(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _descends_from(pid, ancestor, depth=4):
    for _level in range(depth):
        if pid == ancestor:
            return True
        pid = _parent_pid(pid)
        if not pid or pid <= 1:
            return False
    return pid == ancestor


def _serve_one(conn, store, owner_pid):
    with conn:
        # Only this run: the controller or a process below it (its forked workers), same user.
        pid, uid = _peer(conn)
        if uid != os.getuid() or not _descends_from(pid, owner_pid):
            return
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        request = json.loads(data.decode("utf-8"))
        op = request.get("op")
        if op == "claim":
            answer = store.claim(request["keys"], request.get("ttl", 0))
        elif op == "put":
            answer = store.put(request["entries"], request.get("ttl", 0))
        elif op == "release":
            answer = store.release(request["keys"])
        else:
            answer = {"ok": True}
        conn.sendall(json.dumps(answer).encode("utf-8") + b"\n")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def serve(path, owner_pid):
    """Run the broker until the controller exits or it has been idle for IDLE_EXIT seconds."""
    import fcntl
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash must not dump values to disk
    # One broker per controller: the holder of an exclusive lock on an empty lock file (released by
    # the kernel when the holder dies) owns the socket path. A socket there without a lock holder
    # is stale and may be replaced; a racing second broker just exits. (Unlinking after a failed
    # ping is not safe: a broker that has bound but not yet listened refuses connections.)
    old_umask = os.umask(0o177)
    try:
        lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return 0
        store = _Store()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        server.bind(path)
    finally:
        os.umask(old_umask)
    server.listen(64)
    server.settimeout(1.0)
    try:
        while _alive(owner_pid) and time.monotonic() - store.last_used < IDLE_EXIT:
            try:
                conn, _addr = server.accept()
            except socket.timeout:
                continue
            conn.settimeout(CLAIM_WAIT + 5)
            threading.Thread(target=_serve_one_safely, args=(conn, store, owner_pid), daemon=True).start()
    finally:
        server.close()
        for leftover in (path, path + ".lock"):
            try:
                os.unlink(leftover)
            except OSError:
                pass
        os.close(lock)
    return 0


def _serve_one_safely(conn, store, owner_pid):
    try:
        _serve_one(conn, store, owner_pid)
    except (OSError, ValueError, KeyError, AttributeError):  # AttributeError: no SO_PEERCRED (not Linux)
        pass


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], int(sys.argv[2])))
