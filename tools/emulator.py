#!/usr/bin/env python
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A local AWS API emulator (moto server) for this collection: one-shot or persistent.

Usage: tools/emulator.py [--running-tasks N] [--region R] -- COMMAND [ARGS...]
       tools/emulator.py serve [--running-tasks N] [--region R] [--port P]
       tools/emulator.py stop

One-shot: starts the emulator on 127.0.0.1 on a free port, waits until it answers, runs
COMMAND with the standard AWS configuration pointing at it (``AWS_ENDPOINT_URL``, dummy
credentials, ``AWS_REGION``), and stops the server when COMMAND ends -- on success, failure,
Ctrl-C or SIGTERM -- so no emulator process is left behind. The exit status is COMMAND's.

``serve``: starts the same emulator detached (it outlives this command) and prints the
environment for a shell to take over: ``eval "$(tools/emulator.py serve)"``. Run again while
it is up, it starts nothing and prints the same lines. ``stop`` stops it and prints the
``unset`` line (``eval "$(tools/emulator.py stop)"``). Its pid, URL and log live in a per-user
directory: ``$SECRETSOPS_EMULATOR_DIR``, else ``$XDG_RUNTIME_DIR/secretsops-aws-emulator``,
else ``~/.cache/secretsops-aws-emulator``.

Either way the server is ``tools/emulator_server.py`` (moto's server with the corrections listed
there, e.g. DescribeTrails honouring ``trailNameList``) with ``MOTO_ECS_SERVICE_RUNNING=N``
(ECS services report N running tasks, so "wait until stable" can succeed) and
``MOTO_IAM_LOAD_MANAGED_POLICIES=true`` (AWS managed IAM policies exist). Nothing in the
collection knows about this: the same playbooks run against real AWS with a real profile and
no endpoint.
"""
import argparse
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited early with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"moto_server did not answer on {url} within {timeout:.0f}s")


def _die_with_parent():
    """Linux: the server gets SIGTERM if this wrapper dies, even by SIGKILL (no orphan)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def stop(proc):
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


# The caller's AWS settings that would win over, or mix with, the emulator's endpoint and dummy keys.
CALLER_AWS_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_URL", "EC2_URL")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def emulator_env(url, region="us-east-1", **overrides):
    """This process's environment pointed at the emulator at ``url``: its endpoint, dummy
    credentials and ``region``, without CALLER_AWS_VARS; ``overrides`` win."""
    env = {key: value for key, value in os.environ.items() if key not in CALLER_AWS_VARS}
    env.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_REGION=region, AWS_DEFAULT_REGION=region)
    env.update(overrides)
    return env


def ansible_env(url, local_temp, region="us-east-1", **overrides):
    """``emulator_env`` plus what an ``ansible-playbook`` run of this checkout needs: this
    interpreter's bin directory first on PATH, the checkout's collections link and ansible.cfg,
    a private local temp dir, no colour or deprecation noise; ``overrides`` win."""
    env = emulator_env(url, region)
    env.update(
        PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
        ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(local_temp),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_DEPRECATION_WARNINGS="0",
    )
    env.update(overrides)
    return env


SERVER = os.path.join(ROOT, "tools", "emulator_server.py")
# What the emulator accepts as credentials (it checks none unless told to enforce IAM).
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def server_command(port, host="127.0.0.1"):
    """The emulator's command line: moto's server with tools/emulator_server.py's corrections,
    run by this interpreter (whose environment has moto)."""
    return [sys.executable, SERVER, "-H", host, "-p", str(port)]


def server_env(running_tasks=1, **overrides):
    """The server's environment: this process's, plus what makes moto closer to AWS for the
    collection: ECS services report ``running_tasks`` running tasks (so "wait until stable" can
    succeed) and AWS managed IAM policies (AmazonECSTaskExecutionRolePolicy...) exist."""
    env = dict(os.environ, MOTO_ECS_SERVICE_RUNNING=str(running_tasks), MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    env.update(overrides)
    return env


def run_once(args):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(os.environ.get("EMULATOR_LOG", os.devnull), "ab")  # pylint: disable=consider-using-with
    proc = subprocess.Popen(server_command(port), stdout=log, stderr=log,  # pylint: disable=consider-using-with
                            env=server_env(args.running_tasks), start_new_session=True, preexec_fn=_die_with_parent)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        wait_until_up(url, proc)
        env = emulator_env(url, args.region, SECRETSOPS_EMULATOR_URL=url)
        print(f"local AWS emulator (moto) on {url}", file=sys.stderr, flush=True)
        return subprocess.call(args.command, env=env)
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        return 1
    finally:
        stop(proc)
        log.close()


# --- serve / stop: a persistent emulator ------------------------------------------------------

def state_dir():
    if os.environ.get("SECRETSOPS_EMULATOR_DIR"):
        return os.environ["SECRETSOPS_EMULATOR_DIR"]
    if os.environ.get("XDG_RUNTIME_DIR"):
        return os.path.join(os.environ["XDG_RUNTIME_DIR"], "secretsops-aws-emulator")
    return os.path.join(os.path.expanduser("~"), ".cache", "secretsops-aws-emulator")


def _state_file():
    return os.path.join(state_dir(), "state.json")


def _read_state():
    try:
        with open(_state_file(), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _is_our_server(pid):
    """The process ``pid`` is alive and is an emulator_server.py (not a recycled pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return SERVER.encode() in handle.read()
    except OSError:
        try:  # no /proc (not Linux): only liveness can be checked
            os.kill(pid, 0)
            return not os.path.isdir("/proc")
        except OSError:
            return False


def _answers(url):
    try:
        with urllib.request.urlopen(url + "/moto-api/", timeout=2):
            return True
    except OSError:
        return False


def _running():
    """The state of the persistent emulator if it is up and answering, else None."""
    state = _read_state()
    if state and _is_our_server(state["pid"]) and _answers(state["url"]):
        return state
    return None


def export_lines(state):
    """Shell lines that point a shell at the emulator (what ``emulator_env`` sets for a command)."""
    values = dict(AWS_ENDPOINT_URL=state["url"], **DUMMY_CREDENTIALS, AWS_REGION=state["region"],
                  AWS_DEFAULT_REGION=state["region"], SECRETSOPS_EMULATOR_URL=state["url"])
    exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in values.items())
    return [f"export {exports}", "unset " + " ".join(CALLER_AWS_VARS)]


def serve(args):
    state = _running()
    if state:
        print(f"emulator: already running on {state['url']} (pid {state['pid']}, log {state['log']})", file=sys.stderr)
        if state["running_tasks"] != args.running_tasks:
            print(f"emulator: it reports {state['running_tasks']} running task(s) per ECS service; "
                  "stop it and serve again to change that", file=sys.stderr)
        state = dict(state, region=args.region)  # the region is the client's choice only
    else:
        directory = state_dir()
        os.makedirs(directory, mode=0o700, exist_ok=True)
        port = args.port or free_port()
        if args.port:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError as exc:
                    print(f"emulator: port {port} on 127.0.0.1 is not free ({exc})", file=sys.stderr)
                    return 1
        url = f"http://127.0.0.1:{port}"
        log_path = os.path.join(directory, "moto.log")
        with open(log_path, "ab") as log, open(os.devnull, "rb") as devnull:
            # Detached: own session, no parent-death signal, stdin closed; it outlives this command.
            proc = subprocess.Popen(server_command(port), stdin=devnull, stdout=log, stderr=log,  # pylint: disable=consider-using-with
                                    env=server_env(args.running_tasks), start_new_session=True, close_fds=True)
        try:
            wait_until_up(url, proc)
        except RuntimeError as exc:
            stop(proc)
            print(f"emulator: {exc} (log: {log_path})", file=sys.stderr)
            return 1
        state = {"pid": proc.pid, "url": url, "region": args.region, "running_tasks": args.running_tasks,
                 "log": log_path, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        tmp = _state_file() + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
        os.replace(tmp, _state_file())
        print(f"emulator: local AWS emulator (moto) on {url}, pid {proc.pid}, log {log_path}; "
              f"stop it with: tools/emulator.py stop", file=sys.stderr)
    print("\n".join(export_lines(state)))
    return 0


def stop_served(_args):
    state = _read_state()
    if state and _is_our_server(state["pid"]):
        try:
            os.killpg(state["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while _is_our_server(state["pid"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _is_our_server(state["pid"]):
            try:
                os.killpg(state["pid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
        print(f"emulator: stopped the emulator on {state['url']} (pid {state['pid']})", file=sys.stderr)
    else:
        print("emulator: no emulator was running", file=sys.stderr)
    try:
        os.remove(_state_file())
    except FileNotFoundError:
        pass
    print("unset AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY SECRETSOPS_EMULATOR_URL")
    return 0


def main(argv):
    region = os.environ.get("AWS_REGION", "us-east-1")
    if argv[:1] in (["serve"], ["stop"]):
        parser = argparse.ArgumentParser(prog="tools/emulator.py " + argv[0], description=__doc__.splitlines()[0])
        if argv[0] == "serve":
            parser.add_argument("--running-tasks", type=int, default=1,
                                help="tasks every ECS service reports running (MOTO_ECS_SERVICE_RUNNING)")
            parser.add_argument("--region", default=region)
            parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
        args = parser.parse_args(argv[1:])
        return serve(args) if argv[0] == "serve" else stop_served(args)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--running-tasks", type=int, default=1,
                        help="tasks every ECS service reports running (MOTO_ECS_SERVICE_RUNNING)")
    parser.add_argument("--region", default=region)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    args.command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not args.command:
        parser.error("a command to run is required after -- (or: serve, stop)")
    return run_once(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
