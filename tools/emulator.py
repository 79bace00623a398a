#!/usr/bin/env python
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command against a private local AWS API emulator (moto server).

Usage: tools/emulator.py [--running-tasks N] -- COMMAND [ARGS...]

Starts ``moto_server`` on 127.0.0.1 on a free port, waits until it answers, runs
COMMAND with the standard AWS configuration pointing at it (``AWS_ENDPOINT_URL``,
dummy credentials, ``AWS_REGION``), and stops the server when COMMAND ends --
on success, failure, Ctrl-C or SIGTERM -- so no emulator process is left behind.
The exit status is COMMAND's.  Nothing in the collection knows about this: the
same playbooks run against real AWS with a real profile and no endpoint.
"""
import argparse
import os
import shutil
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


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--running-tasks", type=int, default=1,
                        help="tasks every ECS service reports running (MOTO_ECS_SERVICE_RUNNING)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("a command to run is required after --")

    beside = os.path.join(os.path.dirname(sys.executable), "moto_server")
    moto = beside if os.path.exists(beside) else shutil.which("moto_server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Closer to AWS: ECS services report running tasks (so "wait until stable" can succeed) and
    # AWS managed IAM policies (AmazonECSTaskExecutionRolePolicy...) exist.
    server_env = dict(os.environ, MOTO_ECS_SERVICE_RUNNING=str(args.running_tasks), MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    log = open(os.environ.get("EMULATOR_LOG", os.devnull), "ab")
    proc = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log,  # pylint: disable=consider-using-with
                            env=server_env, start_new_session=True, preexec_fn=_die_with_parent)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        wait_until_up(url, proc)
        env = emulator_env(url, args.region, SECRETSOPS_EMULATOR_URL=url)
        print(f"local AWS emulator (moto) on {url}", file=sys.stderr, flush=True)
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        return 1
    finally:
        stop(proc)
        log.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
