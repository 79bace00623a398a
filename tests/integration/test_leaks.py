# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Leak scan (issue 11, item 7): no secret value in any output or file the runs leave behind.

Runs, all at ``-vvvv --diff`` with the default (human) callback, values only ever in vars
files (``-e @file``; ansible-core prints ``-e key=value`` extra vars at -vvvv, not the content of
a vars file), Ansible's remote temp files kept (``ANSIBLE_KEEP_REMOTE_FILES=1``):

1. ``playbooks/provision.yml`` (secrets with given and generated values, IAM, task definition
   with ``valueFrom`` checks, CloudTrail);
2. the lookup on two hosts (so the shared-cache broker runs): whole JSON secrets, single keys,
   ``bypath``, ``merge``, a missing key and a missing stage with ``on_missing=warn``;
3. the ``secret`` module with ``--diff``: JSON keys added / removed / changed, a text and a
   binary value, metadata;
4. ``playbooks/rotate.yml`` twice: generated keys (``secretsops_rotate_keys``) and supplied ones
   (``secretsops_rotate_values``).

Every temp location points under the test's ``tmp_path``: ``ANSIBLE_REMOTE_TMP``,
``ANSIBLE_LOCAL_TEMP``, ``HOME`` (``~/.ansible``), ``TMPDIR`` and ``XDG_RUNTIME_DIR`` (the lookup's
broker socket), plus ``ANSIBLE_LOG_PATH``.  Afterwards every version of every secret is read back
from AWS (generated and rotated values included) and stdout/stderr of every run plus every file
under ``tmp_path`` (except the input vars files) are scanned for each value in raw, JSON-escaped
(also with ``\\/``, twice escaped and Python-repr'd), YAML double-quoted and base64 form (the value
alone and the value at any offset inside a larger base64 text), in the text as written and with
YAML line folding undone.  A positive control checks the scanner finds the given values in the
vars file that holds them.  Files Ansible deletes before the run ends (its local temp dir, the
lookup broker's socket directory) cannot be scanned afterwards.

Known ansible-core behaviour, reported, not hidden: the AnsiballZ wrapper Ansible writes for
every module run (``<ANSIBLE_REMOTE_TMP>/ansible-tmp-*/AnsiballZ_<module>.py``, kept only with
``ANSIBLE_KEEP_REMOTE_FILES=1``) embeds the module arguments as JSON in its ``params=...``
argument, ``no_log`` options included (``ansible/executor/module_common.py``: ``params =
dict(ANSIBLE_MODULE_ARGS=module_args)`` -> ``json.dumps`` -> the wrapper's source).  Hits there
are allowed only on that ``params=`` line and are counted and printed; a hit anywhere else in such
a file, or in any other file or output, fails the test.
"""
import base64
import json
import os
import re
import secrets
import subprocess
import sys

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from integration_helpers import BIN, ROOT  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]

L = "secretsops.aws.secret"
CANARY = f"leak-canary-{secrets.token_hex(5)}"
GIVEN = {
    "db_user": f"{CANARY}-db-user",
    "db_host": f"{CANARY}-db-host.internal",
    # A value JSON and Python escape differently: quotes, backslashes, a newline, a slash, non-ASCII.
    "db_note": f'{CANARY}-note "quoted" C:\\path\\x\nsecond line/slash \u00e9',
    "stripe": f"{CANARY}-stripe-text-value",
    "openai": f"{CANARY}-openai-key",
    "new_host": f"{CANARY}-db-host-2.internal",
    "new_key": f"{CANARY}-added-key-value",
    "new_text": f"{CANARY}-stripe-text-value-2",
    "new_binary": f"{CANARY}-binary-value",
    "supplied": f"{CANARY}-supplied-openai-key",
}
ENV, APP = "leak", "shop"
PREFIX = f"{ENV}/{APP}"
MIN_LENGTH = 12  # shorter JSON leaves read back from AWS (ports, flags) are not secret material


def provision_vars():
    return {
        "secretsops_env": ENV,
        "secretsops_app": APP,
        "secretsops_secrets": [
            {"category": "database", "json": {"DB_USER": GIVEN["db_user"], "DB_HOST": GIVEN["db_host"], "DB_NOTE": GIVEN["db_note"]},
             "generate": ["DB_PASSWORD"], "description": "Database"},
            {"category": "jwt", "generate": ["JWT_SECRET", "JWT_REFRESH_SECRET"]},
            {"category": "stripe", "string": GIVEN["stripe"]},
            {"category": "openai", "json": {"OPENAI_API_KEY": GIVEN["openai"]}},
        ],
        "secretsops_task": {
            "family": "leak-shop-api",
            "image": "public.ecr.aws/docker/library/node:22-alpine",
            "container_port": 3000,
            "secrets": {"DB_PASSWORD": "database:DB_PASSWORD", "DB_NOTE": "database:DB_NOTE", "JWT_SECRET": "jwt:JWT_SECRET",
                        "OPENAI_API_KEY": "openai:OPENAI_API_KEY"},
        },
        "secretsops_trail_bucket": "leak-shop-trail-logs",
    }


def lookup_play():
    def check(label, *that):
        return {"name": label, "ansible.builtin.assert": {"that": list(that), "quiet": True, "fail_msg": f"{label} failed"}}

    return [{
        "name": "Read secrets with the lookup on two hosts",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [
            {"name": "Read the database secret", "no_log": True, "ansible.builtin.set_fact": {
                "leak_db": f"{{{{ lookup('{L}', '{PREFIX}/database') }}}}",
                "leak_password": f"{{{{ lookup('{L}', '{PREFIX}/database:DB_PASSWORD') }}}}",
                "leak_all": f"{{{{ lookup('{L}', '{PREFIX}', bypath=true) }}}}",
                "leak_env": f"{{{{ lookup('{L}', '{PREFIX}/database', '{PREFIX}/jwt', '{PREFIX}/openai', merge=true) }}}}",
                "leak_text": f"{{{{ lookup('{L}', '{PREFIX}/stripe', cache_ttl=0) }}}}"}},
            check("the values are consistent", "leak_db.DB_PASSWORD == leak_password", "leak_env.DB_USER == leak_db.DB_USER",
                  "leak_all | length == 4", "leak_text is string", "leak_env.JWT_SECRET | length == 64"),
            {"name": "Key names only", "ansible.builtin.debug": {"msg": "{{ leak_env.keys() | sort }}"}},
            {"name": "A missing key, warned about", "ansible.builtin.debug": {
                "msg": f"{{{{ lookup('{L}', '{PREFIX}/database:NO_SUCH_KEY', on_missing='warn', default='absent') }}}}"}},
            {"name": "A missing stage, warned about", "ansible.builtin.debug": {
                "msg": f"{{{{ lookup('{L}', '{PREFIX}/database::AWSPENDING', on_missing='warn', default='absent') }}}}"}},
            {"name": "A nested path that is not an object", "ansible.builtin.debug": {
                "msg": f"{{{{ lookup('{L}', '{PREFIX}/database', key='DB_USER.inner', on_missing='warn', default='absent') }}}}"}},
        ],
    }]


def secret_diff_play():
    return [{
        "name": "Update secrets with --diff",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [
            {"name": "Change, add and remove JSON keys", "secretsops.aws.secret": {
                "name": f"{PREFIX}/database", "description": "Database (changed)", "generate": ["DB_PASSWORD"],
                "json_secret": "{{ leak_new_database }}", "tags": {"Environment": ENV, "Application": APP, "Owner": "leak"}}},
            {"name": "Change a text value", "secretsops.aws.secret": {"name": f"{PREFIX}/stripe", "secret_string": "{{ leak_new_text }}"}},
            {"name": "Write a binary value", "secretsops.aws.secret": {"name": f"{PREFIX}/binary", "secret_binary": "{{ leak_new_binary }}"}},
        ],
    }]


def value_forms(value):
    """The forms a value may take in a text: raw, JSON-escaped (plain, with ``\\/``, twice,
    Python-repr'd), YAML double-quoted and base64 (whole, and the stable core at each of the 3 byte offsets inside a
    longer base64 text).  Returns {form name: bytes}."""
    texts = {"raw": value}
    escaped = json.dumps(value)[1:-1]
    escaped_ascii = json.dumps(value, ensure_ascii=False)[1:-1]
    texts["json"] = escaped
    texts["json-utf8"] = escaped_ascii
    texts["json-slash"] = escaped.replace("/", "\\/")
    texts["json-twice"] = json.dumps(escaped)[1:-1]
    texts["repr-of-json"] = escaped.replace("\\", "\\\\")
    for name, unicode in (("yaml", False), ("yaml-utf8", True)):
        dumped = yaml.safe_dump(value, default_style='"', width=float("inf"), allow_unicode=unicode).strip()
        texts[name] = dumped[1:-1].replace("\n...", "")
    forms = {}
    for name, text in texts.items():
        forms[name] = text.encode("utf-8")
    for name in ("raw", "json"):
        data = texts[name].encode("utf-8")
        forms[f"base64-{name}"] = base64.b64encode(data)
        for offset in (1, 2):
            encoded = base64.b64encode(b"\0" * offset + data)
            tail = (offset + len(data)) % 3
            core = encoded[4:len(encoded) - (4 if tail else 0)]
            if len(core) >= 16:
                forms[f"base64-{name}@{offset}"] = core
        tail = len(data) % 3
        core = base64.b64encode(data)[:len(base64.b64encode(data)) - (4 if tail else 0)]
        if len(core) >= 16:
            forms[f"base64-{name}@0"] = core
    return {name: form for name, form in forms.items() if len(form) >= MIN_LENGTH}


def leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    elif isinstance(value, str):
        yield value


def values_in_aws(emulator):
    """{label: value} of every version of every secret under the prefix: whole texts and JSON leaves."""
    sm = emulator.client("secretsmanager")
    found = {}
    for page in sm.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [PREFIX + "/"]}]):
        for entry in page["SecretList"]:
            for version in sm.list_secret_version_ids(SecretId=entry["ARN"], IncludeDeprecated=True)["Versions"]:
                response = sm.get_secret_value(SecretId=entry["ARN"], VersionId=version["VersionId"])
                label = f"{entry['Name']}@{version['VersionId'][:8]}"
                if "SecretBinary" in response:
                    found[f"{label}:binary"] = response["SecretBinary"].decode("utf-8", "replace")
                    continue
                text = response["SecretString"]
                found[f"{label}:text"] = text
                try:
                    parsed = json.loads(text)
                except ValueError:
                    continue
                if isinstance(parsed, dict):
                    for key, leaf in parsed.items():
                        for item in leaves(leaf):
                            found[f"{label}:{key}"] = item
    return {label: value for label, value in found.items() if len(value) >= MIN_LENGTH}


def _fold_breaks(match):
    """YAML flow folding undone: one line break (plus indentation) was a space, n+1 were n newlines."""
    breaks = match.group(0).count(b"\n")
    return b" " if breaks == 1 else b"\n" * (breaks - 1)


FLOW_BREAKS = re.compile(rb"(?:\n[ \t]*)+")
CONTINUATION = re.compile(rb"\\\n[ \t]*(\\ )?")
# YAML (the yaml result format, vars files) folds long scalars: a double-quoted one may end a line
# with "\" (nothing inserted; a next line starting with "\ " stands for a space), any flow scalar
# turns one line break + indentation into a space and an empty line into a newline; a block
# scalar keeps newlines but indents every line.
UNFOLD = (
    ("", None),
    ("yaml-flow", lambda data: FLOW_BREAKS.sub(_fold_breaks, CONTINUATION.sub(lambda m: b" " if m.group(1) else b"", data))),
    ("yaml-block", lambda data: re.sub(rb"\n[ \t]+", b"\n", data)),
)


def scan(data, values):
    """[(value label, form, offset)] of every value form found in ``data`` (bytes), also in the
    text with YAML line folding undone (offset -1 there)."""
    hits = []
    for variant, rule in UNFOLD:
        text = data if rule is None else rule(data)
        if rule is not None and text == data:
            continue
        for label, forms in values.items():
            for form_name, form in forms.items():
                start = text.find(form)
                while start >= 0:
                    hits.append((label, f"{form_name}{'/' + variant if variant else ''}", start if rule is None else -1))
                    start = text.find(form, start + 1)
    return hits


ANSIBALLZ = re.compile(r"(^|/)ansible-tmp-[^/]+/AnsiballZ_[A-Za-z0-9_]+\.py$")


def params_span(data):
    """(start, end) of the ``params=...`` argument line of an AnsiballZ wrapper, or None."""
    match = re.search(rb"^params=.*$", data, re.M)
    return (match.start(), match.end()) if match else None


class Runner:
    def __init__(self, emulator, tmp_path):
        self.emulator = emulator
        self.tmp = tmp_path
        self.outputs = {}
        self.inputs = []
        for name in ("remote-tmp", "local-tmp", "home", "tmp", "runtime"):
            (tmp_path / name).mkdir()
        (tmp_path / "runtime").chmod(0o700)
        self.env = emulator.ansible_env(
            tmp_path / "local-tmp",
            ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
            ANSIBLE_KEEP_REMOTE_FILES="1",
            ANSIBLE_REMOTE_TMP=str(tmp_path / "remote-tmp"),
            ANSIBLE_LOCAL_TEMP=str(tmp_path / "local-tmp"),
            ANSIBLE_LOG_PATH=str(tmp_path / "ansible.log"),
            HOME=str(tmp_path / "home"),
            TMPDIR=str(tmp_path / "tmp"),
            XDG_RUNTIME_DIR=str(tmp_path / "runtime"),
        )

    def vars_file(self, name, data):
        path = self.tmp / f"{name}.yml"
        path.write_text(yaml.safe_dump(dict({"ansible_python_interpreter": sys.executable}, **data), allow_unicode=True))
        self.inputs.append(path)
        return path

    def play(self, name, plays):
        path = self.tmp / f"{name}-play.yml"
        path.write_text(yaml.safe_dump(plays, sort_keys=False))
        return str(path)

    def run(self, name, playbook, variables, inventory="localhost,"):
        vars_path = self.vars_file(f"{name}-vars", variables)
        command = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, "-c", "local", "-e", f"@{vars_path}",
                   "-vvvv", "--diff", playbook]
        proc = subprocess.run(command, capture_output=True, text=True, env=self.env, cwd=ROOT, timeout=600, check=False)
        self.outputs[f"{name} stdout"] = proc.stdout
        self.outputs[f"{name} stderr"] = proc.stderr
        tail = "\n".join(line for line in proc.stdout.splitlines() if line.startswith(("fatal", "failed", "PLAY RECAP", "localhost", "leak")))
        return proc.returncode, tail


def make_service(emulator):
    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName="leak")
    arn = ecs.register_task_definition(
        family="leak-web", networkMode="bridge",
        containerDefinitions=[{"name": "web", "image": "nginx:1", "memory": 128, "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="leak", serviceName="api", taskDefinition=arn, desiredCount=1, launchType="EC2")


def test_no_secret_value_leaks(emulator, tmp_path):
    runner = Runner(emulator, tmp_path)
    quick = {"secretsops_ecs_cluster": "leak", "secretsops_ecs_services": ["api"], "secretsops_redeploy_timeout": 5,
             "secretsops_redeploy_delay": 1, "secretsops_health_check_retries": 0, "secretsops_health_check_delay": 1}

    rc, tail = runner.run("provision", os.path.join(ROOT, "playbooks", "provision.yml"), provision_vars())
    assert rc == 0, f"provision failed: {tail}"
    make_service(emulator)

    inventory = tmp_path / "hosts.ini"
    inventory.write_text("leak1 ansible_connection=local\nleak2 ansible_connection=local\n")
    rc, tail = runner.run("lookup", runner.play("lookup", lookup_play()), {}, inventory=str(inventory))
    assert rc == 0, f"lookup play failed: {tail}"

    new_database = {"DB_USER": GIVEN["db_user"], "DB_HOST": GIVEN["new_host"], "DB_NOTE": GIVEN["db_note"], "NEW_KEY": GIVEN["new_key"]}
    rc, tail = runner.run("secret-diff", runner.play("secret-diff", secret_diff_play()), {
        "leak_new_database": new_database, "leak_new_text": GIVEN["new_text"],
        "leak_new_binary": base64.b64encode(GIVEN["new_binary"].encode()).decode()})
    assert rc == 0, f"secret --diff play failed: {tail}"

    rotate = os.path.join(ROOT, "playbooks", "rotate.yml")
    rc, tail = runner.run("rotate-keys", rotate, dict(quick, secretsops_env=ENV, secretsops_app=APP, secretsops_rotate_category="jwt",
                                                      secretsops_rotate_keys=["JWT_SECRET"]))
    assert rc == 0, f"rotate (generated keys) failed: {tail}"
    rc, tail = runner.run("rotate-values", rotate, dict(quick, secretsops_env=ENV, secretsops_app=APP, secretsops_rotate_category="openai",
                                                        secretsops_rotate_values={"OPENAI_API_KEY": GIVEN["supplied"]}))
    assert rc == 0, f"rotate (supplied values) failed: {tail}"

    # -- the values: given ones, and every version of every secret as AWS holds it now --------
    in_aws = values_in_aws(emulator)
    values = {f"given:{key}": value for key, value in GIVEN.items()}
    values.update({f"aws:{label}": value for label, value in in_aws.items()})
    generated = {label for label, value in values.items() if value not in GIVEN.values() and not any(g in value for g in GIVEN.values())}
    # sanity: generated values were read back (DB_PASSWORD, JWT_*, the rotated JWT_SECRET)
    assert sum(1 for label in generated if label.endswith((":DB_PASSWORD", ":JWT_SECRET", ":JWT_REFRESH_SECRET"))) >= 4, \
        "generated values were not read back from AWS"
    forms = {label: value_forms(value) for label, value in values.items()}

    # -- scan ---------------------------------------------------------------------------------
    hits, allowed, files = [], [], 0
    for name, text in runner.outputs.items():
        hits += [(name, label, form) for label, form, _offset in scan(text.encode("utf-8"), forms)]
    skip = {str(path) for path in runner.inputs}
    for root, _dirs, names in os.walk(tmp_path):
        for file_name in names:
            path = os.path.join(root, file_name)
            if path in skip or os.path.islink(path) or not os.path.isfile(path):
                continue
            files += 1
            with open(path, "rb") as handle:
                data = handle.read()
            relative = os.path.relpath(path, tmp_path)
            span = params_span(data) if ANSIBALLZ.search(relative) else None
            if span:
                # the module arguments line is ansible-core's; the rest of the wrapper must be clean
                allowed += [(relative, label, form) for label, form, _offset in scan(data[span[0]:span[1]], forms)]
                data = data[:span[0]] + data[span[1]:]
            hits += [(relative, label, form) for label, form, _offset in scan(data, forms)]

    wrappers = sorted({re.sub(r"ansible-tmp-[^/]+", "ansible-tmp-*", where) for where, _label, _form in allowed})
    allowed_generated = sorted({label for _where, label, _form in allowed if label in generated})
    print(f"\nleak scan: 5 runs at -vvvv --diff, {len(runner.outputs)} outputs + {files} files under tmp_path, "
          f"{len(values)} values ({len(generated)} generated) x {sum(len(f) for f in forms.values())} forms: "
          f"{len(hits)} hits")
    print(f"  ansible-core AnsiballZ module arguments (params= line, kept remote files only): {len(allowed)} hits in "
          f"{len({where for where, _l, _f in allowed})} files; patterns: {', '.join(wrappers) or 'none'}")
    print(f"  of which values generated in AWS (passed back as module arguments): {len(allowed_generated)} labels")
    for where, label, form in sorted(set(hits))[:40]:
        print(f"  HIT {where}: {label} ({form})")

    # positive control: the scanner finds every given value in the vars file that holds it
    provision_file = (tmp_path / "provision-vars.yml").read_bytes()
    found = {label for label, _form, _offset in scan(provision_file, {k: v for k, v in forms.items() if k.startswith("given:")})}
    expected = {f"given:{key}" for key in ("db_user", "db_host", "db_note", "stripe", "openai")}
    assert expected <= found, f"the scanner missed given values in the provision vars file: {sorted(expected - found)}"
    assert files > 0 and any(ANSIBALLZ.search(os.path.relpath(os.path.join(r, n), tmp_path))
                             for r, _d, ns in os.walk(tmp_path) for n in ns), "remote temp files were not kept"
    assert hits == [], "secret values found: " + "; ".join(f"{where}: {label} ({form})" for where, label, form in sorted(set(hits))[:20])
