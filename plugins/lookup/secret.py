# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: secret
short_description: Read AWS Secrets Manager secrets by name, ARN or ECS valueFrom, batched and cached
version_added: 0.1.0
description:
  - Returns the value of each term. A JSON object secret comes back parsed (a dictionary); a selected
    key keeps its JSON type (a number stays a number, an object a dictionary); a text secret stays text.
  - A term is a secret name, a full ARN or a partial ARN, optionally followed by the ECS C(valueFrom)
    selector C(:json-key:version-stage:version-id) (each part may be empty). Names cannot contain C(:)
    and an ARN has exactly seven C(:)-fields, so dotted names such as C(app.prod.db) work.
  - Several values are read with C(BatchGetSecretValue) (at most 20 ids a call), falling back to
    C(GetSecretValue) when that action is denied. Clients are reused and values cached in the memory
    of the Ansible process for O(cache_ttl) seconds, keyed by credentials, region, endpoint, id, stage
    and version. Values are never written to disk and never logged.
author:
  - secretsops contributors (@secretsops)
options:
  _terms:
    description: Secret names or ARNs, each optionally followed by C(:json-key:version-stage:version-id).
    required: true
    type: list
    elements: str
  key:
    description:
      - JSON key to return, for terms that select none. A dotted path (C(a.b.c)) walks nested
        objects; a key that literally contains dots wins over the path.
    type: str
  version_stage:
    description: Staging label to read (C(AWSCURRENT) when neither this nor O(version_id) is given).
    type: str
  version_id:
    description: Version id to read.
    type: str
  bypath:
    description:
      - "Treat each term as a path and return a dictionary C({name: value}) of every secret under it.
        Path-boundary aware (C(prod/shop) does not match C(prod/shop-old/x)); paginated."
      - A path with no secret under it counts as missing (see O(on_missing)), so a mistyped path
        is not silently an empty result; C(on_missing=skip, default={}) accepts an empty path.
      - The path is listed with C(ListSecrets), which on AWS "might not reflect changes from the
        last five minutes"; a secret created moments ago may be missing. Name it to be sure.
    type: bool
    default: false
  merge:
    description:
      - Merge the JSON objects of all terms (and all secrets of a path with O(bypath)) into one
        dictionary; later terms win. Returns that dictionary.
    type: bool
    default: false
  on_missing:
    description: What to do when a secret (or a selected key) does not exist.
    type: str
    choices: [error, warn, skip]
    default: error
  on_denied:
    description: What to do when access to a secret is denied.
    type: str
    choices: [error, warn, skip]
    default: error
  on_deleted:
    description: What to do when a secret is scheduled for deletion.
    type: str
    choices: [error, warn, skip]
    default: error
  default:
    description: Value returned instead of skipping a missing, denied or deleted secret (with C(warn)/C(skip)).
    type: raw
  cache_ttl:
    description: Seconds a value read stays cached in memory; C(0) turns the cache off.
    type: int
    default: 300
  shared_cache:
    description:
      - Share cached values between the forked worker processes that run the same task for
        different hosts, through a small broker process started on first use; twenty hosts reading
        the same secrets in one task cost one read. A later task reads again, so a value written
        by an earlier task is seen. A play on a single host starts no broker (each of its tasks
        runs in one worker, with nothing to share).
      - The broker keeps values in memory only (no core dumps), serves only processes of this
        C(ansible-playbook) run of the same user over a Unix socket in a private directory, lets
        concurrent workers wait for one fetch instead of all fetching, and exits with the run.
        Linux only; elsewhere, or with C(false), each worker process keeps its own cache.
    type: bool
    default: true
  binary:
    description: How a binary secret is returned, C(base64) text or C(raw) bytes.
    type: str
    choices: [base64, raw]
    default: base64
notes:
  - "AWS APIs used: BatchGetSecretValue, GetSecretValue, ListSecrets (with O(bypath)). The caller
    needs secretsmanager:GetSecretValue on the secrets (plus BatchGetSecretValue to batch, and
    ListSecrets for O(bypath)) and kms:Decrypt for customer managed keys."
  - Ansible runs each task and host in a forked worker process; a loop within one task shares the
    process cache, and O(shared_cache) shares it between the hosts of one task.
extends_documentation_fragment:
  - amazon.aws.boto3
  - amazon.aws.common.plugins
  - amazon.aws.region.plugins
"""

EXAMPLES = r"""
- name: Read one key of a JSON secret
  ansible.builtin.set_fact:
    db_url: "{{ lookup('secretsops.aws.secret', 'prod/shop/database:DATABASE_URL') }}"
  no_log: true

- name: Read a whole JSON secret as a dictionary
  ansible.builtin.set_fact:
    jwt: "{{ lookup('secretsops.aws.secret', 'prod/shop/jwt') }}"
  no_log: true

- name: Every secret under a path, as a dictionary name -> value
  ansible.builtin.set_fact:
    all_shop: "{{ lookup('secretsops.aws.secret', 'prod/shop/', bypath=true) }}"
  no_log: true

- name: Load all secrets of the app into one environment dictionary (later terms win)
  ansible.builtin.set_fact:
    app_env: "{{ lookup('secretsops.aws.secret', 'prod/shop/database', 'prod/shop/jwt', merge=true) }}"
  no_log: true

- name: The previous JWT secret, during a rotation
  ansible.builtin.set_fact:
    old_jwt: "{{ lookup('secretsops.aws.secret', 'prod/shop/jwt:JWT_SECRET:AWSPREVIOUS') }}"
  no_log: true

- name: Tolerate a secret that is not there
  ansible.builtin.set_fact:
    sentry: "{{ lookup('secretsops.aws.secret', 'prod/shop/sentry', on_missing='skip', default={}) }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description:
    - One value per term (a dictionary for a JSON object, the key's JSON type for a selected key, text
      otherwise); with O(bypath) a dictionary (name to value) per term; with O(merge) one dictionary.
  type: list
  elements: raw
"""

import hashlib
import os
import time

try:
    import botocore
except ImportError:
    pass  # AWSLookupBase reports a missing SDK.

from ansible.errors import AnsibleLookupError
from ansible.utils.display import Display

from ansible_collections.amazon.aws.plugins.plugin_utils.botocore import get_aws_connection_info
from ansible_collections.amazon.aws.plugins.plugin_utils.lookup import AWSLookupBase

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import BatchDenied
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import InvalidOption
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import SecretsManagerError
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import batch_get_secret_values
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import decode_value
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import explain_error
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import is_deleted_error
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import is_denied
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import is_missing
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import parse_term
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import path_matches
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import retry_decorator
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import select_key

display = Display()


class _ProcessState:
    """What must outlive one run() call in this process (memory only, never on disk): clients
    per connection key, cached GetSecretValue-shaped entries, the connection keys for which
    BatchGetSecretValue was denied, and the shared cache broker (a BrokerClient once connected,
    False when unavailable)."""

    def __init__(self):
        self.clients = {}
        self.cache = {}
        self.batch_denied = set()
        self.broker = None


_STATE = _ProcessState()


class _Failure(Exception):
    """A per-secret failure: kind is missing / denied / deleted."""

    def __init__(self, kind, message):
        self.kind = kind
        super().__init__(message)


class LookupModule(AWSLookupBase):
    def run(self, terms, variables=None, **kwargs):
        unknown = _unknown_options(self.option_definitions, kwargs)
        if unknown:
            raise AnsibleLookupError(f"secretsops.aws.secret: unknown option {', '.join(map(repr, unknown))}; "
                                     f"options are: {', '.join(sorted(k for k in self.option_definitions if k != '_terms'))}")
        super().run(terms, variables, **kwargs)
        opts = {name: self.get_option(name) for name in (
            "key", "version_stage", "version_id", "bypath", "merge", "on_missing", "on_denied",
            "on_deleted", "default", "cache_ttl", "shared_cache", "binary")}
        opts["has_default"] = "default" in kwargs
        try:
            parsed = [parse_term(term) for term in terms]
        except InvalidOption as exc:
            raise AnsibleLookupError(str(exc)) from None
        conn_key, client_factory, where = self._connection()
        share = opts["cache_ttl"] > 0 and opts["shared_cache"] and _play_has_other_hosts(variables)
        broker = _broker() if share else None
        reader = _Reader(client_factory, conn_key, opts["cache_ttl"], where, broker)
        if opts["bypath"]:
            results = [self._by_path(reader, term, opts) for term in terms]
        else:
            results = self._values(reader, parsed, opts)
        if opts["merge"]:
            merged = {}
            for term, value in zip(terms, results):
                if value is _SKIP:
                    continue
                items = value.values() if opts["bypath"] else [value]
                for item in items:
                    if not isinstance(item, dict):
                        raise AnsibleLookupError(f"merge=true needs JSON objects; {term} is not a JSON object")
                    merged.update(item)
            return [merged]
        return [value for value in results if value is not _SKIP]

    # -- connection ---------------------------------------------------------------------
    def _connection(self):
        """(conn_key, client factory, where): the client is made (and pooled per process) only
        when a value must really be fetched, so a cache hit costs no boto3 client."""
        region, endpoint, params = get_aws_connection_info(self)
        material = repr((region, endpoint, sorted((k, str(v)) for k, v in params.items()),
                         os.environ.get("AWS_PROFILE"), os.environ.get("AWS_ACCESS_KEY_ID")))
        conn_key = hashlib.sha256(material.encode("utf-8")).hexdigest()

        def factory():
            if conn_key not in _STATE.clients:
                _STATE.clients[conn_key] = self.client("secretsmanager", retry_decorator())
            return _STATE.clients[conn_key]

        where = {"region": region, "endpoint": endpoint or os.environ.get("AWS_ENDPOINT_URL") or f"https://secretsmanager.{region}.amazonaws.com"}
        return conn_key, factory, where

    # -- reading ------------------------------------------------------------------------
    def _values(self, reader, parsed, opts):
        wanted = []
        for secret_id, key, stage, version_id in parsed:
            key = key or opts["key"]
            if not stage and not version_id:
                stage, version_id = opts["version_stage"], opts["version_id"]
            wanted.append((secret_id, key, stage or (None if version_id else "AWSCURRENT"), version_id))
        entries = reader.read([(sid, stage, vid) for sid, _key, stage, vid in wanted])
        results = []
        for (secret_id, key, stage, version_id) in wanted:
            entry = entries[(secret_id, stage, version_id)]
            try:
                if isinstance(entry, _Failure):
                    raise entry
                value = decode_value(entry, opts["binary"])
                try:
                    value = select_key(value, key, secret_id)
                except KeyError as exc:
                    raise _Failure("missing", exc.args[0]) from None
            except _Failure as failure:
                value = self._handle(failure, opts)
            results.append(value)
        return results

    def _by_path(self, reader, path, opts):
        try:
            names = reader.list_names(path)
        except _Failure as failure:
            return self._handle(failure, opts)
        if not names:
            return self._handle(_Failure("missing", f"No secret under the path {path} (region {reader.where['region']}, endpoint "
                                                    f"{reader.where['endpoint']}). Check the path, the region and the account/profile."), opts)
        entries = reader.read([(name, "AWSCURRENT", None) for name in names])
        out = {}
        for name in names:
            entry = entries[(name, "AWSCURRENT", None)]
            if isinstance(entry, _Failure):
                value = self._handle(entry, opts)
                if value is _SKIP:
                    continue
            else:
                value = decode_value(entry, opts["binary"])
                if opts["key"]:
                    try:
                        value = select_key(value, opts["key"], name)
                    except KeyError as exc:
                        value = self._handle(_Failure("missing", exc.args[0]), opts)
                        if value is _SKIP:
                            continue
            out[name] = value
        return out

    def _handle(self, failure, opts):
        action = opts[f"on_{failure.kind}"]
        if action == "error":
            raise AnsibleLookupError(str(failure))
        if action == "warn":
            display.warning(str(failure))
        return opts["default"] if opts["has_default"] else _SKIP


_SKIP = object()


def _unknown_options(definitions, given):
    """Keyword options not defined for this plugin (names and aliases), sorted.  Ansible
    ignores unknown lookup keywords, so a typo (``bypth=true``) would otherwise pass silently."""
    known = set(definitions)
    for spec in definitions.values():
        known.update((spec or {}).get("aliases") or ())
    return sorted(set(given) - known)


def _task_scope():
    """The uuid of the task this worker process runs (Ansible's WorkerProcess keeps it as
    ``_task``), or "" outside a worker."""
    import multiprocessing

    task = getattr(multiprocessing.current_process(), "_task", None)
    return str(getattr(task, "_uuid", "") or "")


def _play_has_other_hosts(variables):
    """Whether other workers may run this task: a play on one host runs each task in a single
    worker process, so a broker would cost its start-up and save nothing.  Unknown -> True."""
    try:
        hosts = (variables or {}).get("ansible_play_hosts_all")
        return hosts is None or len(hosts) > 1
    except (TypeError, AttributeError):
        return True


def _broker():
    """The shared cache broker of this ansible-playbook run, or None (then each worker process
    keeps its own cache).  Never fails a lookup."""
    if not _task_scope():
        return None  # not in a task worker: nothing to share with
    if _STATE.broker is None:
        # Imported here: a play on one host never needs it (see _play_has_other_hosts).
        from ansible_collections.secretsops.aws.plugins.plugin_utils._cache_broker import BrokerClient

        try:
            client = BrokerClient()
            client.ensure_running()
            _STATE.broker = client
        except (OSError, ValueError) as exc:
            display.vvv(f"secretsops.aws.secret: shared cache unavailable ({exc}); caching per process")
            _STATE.broker = False
    return _STATE.broker or None


class _Reader:
    """Reads secret values through the caches (this process, then the run's shared broker),
    batching AWSCURRENT reads; only cache misses reach AWS."""

    def __init__(self, client_factory, conn_key, ttl, where, broker=None):
        self._client_factory = client_factory
        self.conn_key = conn_key
        self.ttl = ttl
        self.where = where
        self.broker = broker

    @property
    def client(self):
        return self._client_factory()

    def _fail(self, exc, secret_id):
        message = explain_error(exc, secret_id, self.where["region"], self.where["endpoint"])
        if is_denied(exc):
            return _Failure("denied", message)
        if is_missing(exc):
            return _Failure("missing", message)
        if is_deleted_error(exc):
            return _Failure("deleted", f"Secret {secret_id} is scheduled for deletion ({self.where['region']}); restore it or stop reading it")
        raise AnsibleLookupError(message)

    def _key(self, request):
        return "|".join([self.conn_key] + [part or "" for part in request])

    def _shared_key(self, request):
        # Scoped to the task: the hosts of one task share reads, a later task (which may run
        # after a module changed the secret) reads again, as with per-worker caches.
        return _task_scope() + "|" + self._key(request)

    def read(self, requests):
        """{(id, stage, version_id): GetSecretValue-shaped entry or _Failure}."""
        now = time.monotonic()
        out = {}
        todo = []
        for request in dict.fromkeys(requests):
            cached = _STATE.cache.get(self._key(request)) if self.ttl > 0 else None
            if cached and cached[0] > now:
                out[request] = cached[1]
            else:
                todo.append(request)
        claimed = None
        if todo and self.broker is not None:
            try:
                hits, claimed_keys = self.broker.claim([self._shared_key(r) for r in todo], self.ttl)
            except (OSError, ValueError, KeyError) as exc:
                display.vvv(f"secretsops.aws.secret: shared cache unavailable ({exc})")
            else:
                by_key = {self._shared_key(r): r for r in todo}
                for key, entry in hits.items():
                    out[by_key[key]] = entry
                claimed = [by_key[key] for key in claimed_keys]
                todo = claimed
        fetched = self._fetch(todo)
        out.update(fetched)
        good = {r: e for r, e in fetched.items() if not isinstance(e, _Failure)}
        if self.ttl > 0:
            expires = time.monotonic() + self.ttl
            for request, entry in out.items():
                if not isinstance(entry, _Failure):
                    _STATE.cache[self._key(request)] = (expires, entry)
        if claimed is not None:
            try:
                if good:
                    self.broker.put({self._shared_key(r): e for r, e in good.items()}, self.ttl)
                failed = [self._shared_key(r) for r in claimed if r not in good]
                if failed:
                    self.broker.release(failed)
            except (OSError, ValueError) as exc:
                display.vvv(f"secretsops.aws.secret: shared cache unavailable ({exc})")
        return out

    def _fetch(self, todo):
        out = {}
        batchable = [req for req in todo if req[1] == "AWSCURRENT" and req[2] is None]
        if len(batchable) > 1 and self.conn_key not in _STATE.batch_denied:
            out.update(self._batch([req[0] for req in batchable]))
        for request in todo:
            if request not in out:
                out[request] = self._single(*request)
        return out

    def _single(self, secret_id, stage, version_id):
        kwargs = {"SecretId": secret_id}
        if version_id:
            kwargs["VersionId"] = version_id
        if stage:
            kwargs["VersionStage"] = stage
        try:
            return self.client.get_secret_value(aws_retry=True, **kwargs)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            return self._fail(exc, secret_id)

    def _batch(self, secret_ids):
        try:
            entries, errors = batch_get_secret_values(self.client, secret_ids)
        except BatchDenied:
            _STATE.batch_denied.add(self.conn_key)
            display.vvv("secretsops.aws.secret: BatchGetSecretValue denied, reading one secret at a time")
            return {}
        except SecretsManagerError as exc:
            raise AnsibleLookupError(explain_error(exc, ", ".join(secret_ids), self.where["region"], self.where["endpoint"])) from None
        out = {(secret_id, "AWSCURRENT", None): entry for secret_id, entry in entries.items()}
        for secret_id, exc in errors.items():
            out[(secret_id, "AWSCURRENT", None)] = self._fail(exc, secret_id)
        return out

    def list_names(self, path):
        """Names of all secrets under ``path`` (ListSecrets with a name filter, paginated, then
        a path-boundary check).  Secrets scheduled for deletion are not listed by AWS."""
        prefix = path.rstrip("/") + "/"
        names = []
        try:
            paginator = self.client.get_paginator("list_secrets")
            for page in paginator.paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
                names.extend(item["Name"] for item in page.get("SecretList", []) if path_matches(item["Name"], path))
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail(exc, prefix) from None
        return sorted(names)


def clear_cache():
    """Forget cached values and clients (tests; a long-lived controller process)."""
    _STATE.cache.clear()
    _STATE.clients.clear()
    _STATE.batch_denied.clear()
