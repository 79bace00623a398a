# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the bad-input, check-mode and leak tests (tests/integration only).

- ``run_playbook``: ``ansible-playbook`` of a playbook file against an emulator recorder with a
  vars file (never ``-e key=value``), returning rc, stdout, stderr and the task results parsed from
  the ``ansible.posix.json`` callback (each with ``_task`` and ``_start``/``_end`` as epoch seconds).
- ``calls_by_window``: attribute recorder calls (``timed_calls()``) to consecutive windows that
  start at given epoch times, e.g. one window per bad-input case of one play.
- ``redact``: replace test values in a text before it goes into an assertion message.
"""
import datetime
import json
import os
import subprocess
import sys

import yaml

BIN = os.path.dirname(sys.executable)
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))


def epoch(iso):
    """``2026-12-02T15:01:25.822332Z`` (ansible.posix.json, UTC) -> epoch seconds."""
    text = iso.rstrip("Z")
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc).timestamp()


def parse_json_tasks(stdout, host="localhost"):
    """Task results of an ``ansible.posix.json`` run, in order, each with ``_task``, ``_start``
    and ``_end`` (epoch seconds; ``_end`` is None for a task without a result)."""
    start = stdout.find("{")
    if start < 0:
        return []
    try:
        data = json.loads(stdout[start:])
    except ValueError:
        return []
    out = []
    for play in data.get("plays", []):
        for task in play.get("tasks", []):
            result = dict(task.get("hosts", {}).get(host, {}))
            info = task.get("task", {})
            duration = info.get("duration", {})
            result["_task"] = info.get("name", "")
            result["_start"] = epoch(duration["start"]) if duration.get("start") else None
            result["_end"] = epoch(duration["end"]) if duration.get("end") else None
            out.append(result)
    return out


def write_play(path, tasks, play_vars=None):
    play = [{
        "name": "secretsops integration test",
        "hosts": "localhost",
        "gather_facts": False,
        "connection": "local",
        "vars": dict({"ansible_python_interpreter": sys.executable}, **(play_vars or {})),
        "tasks": tasks,
    }]
    path.write_text(yaml.safe_dump(play, sort_keys=False, width=1000))
    return path


def run_playbook(emulator, tmp_path, playbook, variables=None, check=False, diff=False, verbosity=0,
                 callback="ansible.posix.json", extra_env=None, name="vars", timeout=600):
    """Run ``playbook`` (a path) on localhost with ``variables`` from a vars file.  Returns
    ``(rc, stdout, stderr, tasks)``; ``tasks`` is parsed only with the json callback."""
    vars_file = tmp_path / f"{name}.yml"
    vars_file.write_text(yaml.safe_dump(dict({"ansible_python_interpreter": sys.executable}, **(variables or {}))))
    env = emulator.ansible_env(tmp_path, ANSIBLE_STDOUT_CALLBACK=callback, **(extra_env or {}))
    command = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", f"@{vars_file}", str(playbook)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    if verbosity:
        command.append("-" + "v" * verbosity)
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout, check=False)
    tasks = parse_json_tasks(proc.stdout) if callback == "ansible.posix.json" else []
    return proc.returncode, proc.stdout, proc.stderr, tasks


def calls_by_window(timed_calls, starts):
    """``timed_calls``: [(epoch, operation)]; ``starts``: increasing epoch times, one per window.
    Returns (before, [operations of window 0], [operations of window 1], ...): window i holds
    the calls from starts[i] up to starts[i + 1] (the last one: to the end)."""
    before = []
    windows = [[] for _start in starts]
    for when, op in timed_calls:
        index = None
        for i, start in enumerate(starts):
            if when >= start:
                index = i
            else:
                break
        (before if index is None else windows[index]).append(op)
    return before, windows


def redact(text, values, mask="<test value>"):
    """``text`` with every value of ``values`` (and its longest 40-char prefix) replaced."""
    out = str(text)
    for value in sorted((v for v in values if v), key=len, reverse=True):
        out = out.replace(value, mask)
        if len(value) > 40:
            out = out.replace(value[:40], mask)
    return out


def summary(rc, tasks, values=()):
    rows = [f"{t['_task']}: changed={t.get('changed')} failed={t.get('failed')} msg={str(t.get('msg', ''))[:300]}" for t in tasks]
    return redact(f"rc={rc}; " + "; ".join(rows), values)
