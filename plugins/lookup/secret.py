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
    C(GetSecretValue) per secret when that action is denied or a whole call fails, so O(on_missing),
    O(on_denied) and O(on_deleted) apply to each secret. Clients are reused and values cached in the memory
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
    description:
      - What to do when a secret, a selected key, a version stage or a version id does not exist.
      - A stage or version id missing from an existing secret is reported as such, with the staging
        labels the secret has.
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
    description: Seconds a value read stays cached in memory; C(0) turns the cache off; a negative number is an error.
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

from ansible.errors import AnsibleLookupError
from ansible.module_utils.parsing.convert_bool import BOOLEANS
from ansible.utils.display import Display

from ansible_collections.amazon.aws.plugins.plugin_utils.botocore import get_aws_connection_info
from ansible_collections.amazon.aws.plugins.plugin_utils.botocore import get_aws_region
from ansible_collections.amazon.aws.plugins.plugin_utils.lookup import AWSLookupBase

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.api import retry_decorator
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import InvalidOption
from ansible_collections.secretsops.aws.plugins.plugin_utils._reader import STATE
from ansible_collections.secretsops.aws.plugins.plugin_utils._reader import Failure
from ansible_collections.secretsops.aws.plugins.plugin_utils._reader import Reader
from ansible_collections.secretsops.aws.plugins.plugin_utils._reader import shared_broker
from ansible_collections.secretsops.aws.plugins.plugin_utils._terms import decode_value
from ansible_collections.secretsops.aws.plugins.plugin_utils._terms import parse_term
from ansible_collections.secretsops.aws.plugins.plugin_utils._terms import select_key

display = Display()
_SKIP = object()
_BOOL_OPTIONS = ("bypath", "merge", "shared_cache")
# What the default region (no region option) can depend on besides the profile option.
_REGION_ENV = ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE")
_OPTIONS = ("key", "version_stage", "version_id", "bypath", "merge", "on_missing", "on_denied",
            "on_deleted", "default", "cache_ttl", "shared_cache", "binary")


class LookupModule(AWSLookupBase):
    def run(self, terms, variables=None, **kwargs):
        unknown = _unknown_options(self.option_definitions, kwargs)
        if unknown:
            raise AnsibleLookupError(f"secretsops.aws.secret: unknown option {', '.join(map(repr, unknown))}; "
                                     f"options are: {', '.join(sorted(k for k in self.option_definitions if k != '_terms'))}")
        wrong = [name for name in _BOOL_OPTIONS if name in kwargs and not _is_boolean(kwargs[name])]
        if wrong:
            raise AnsibleLookupError(f"secretsops.aws.secret: {', '.join(wrong)} must be true or false")
        if not STATE.sdk_checked:
            # What AWSLookupBase.run does, minus the SDK version check on every call: the SDK
            # cannot change within a process (its warning would be shown once anyway).
            self.require_aws_sdk()
            STATE.sdk_checked = True
        self.set_options(var_options=variables, direct=kwargs)
        opts = {name: self.get_option(name) for name in _OPTIONS}
        opts["has_default"] = "default" in kwargs
        if opts["cache_ttl"] < 0:
            raise AnsibleLookupError(f"secretsops.aws.secret: cache_ttl: {opts['cache_ttl']} is negative; "
                                     "give seconds to keep values (0 turns the cache off)")
        try:
            parsed = [parse_term(term) for term in terms]
        except InvalidOption as exc:
            raise AnsibleLookupError(str(exc)) from None
        conn_key, client_factory, where = self._connection()
        share = opts["cache_ttl"] > 0 and opts["shared_cache"] and _play_has_other_hosts(variables)
        reader = Reader(client_factory, conn_key, opts["cache_ttl"], where, shared_broker() if share else None)
        if opts["bypath"]:
            results = [self._by_path(reader, term, opts) for term in terms]
        else:
            results = self._values(reader, parsed, opts)
        if opts["merge"]:
            return [_merge(terms, results, opts["bypath"])]
        return [value for value in results if value is not _SKIP]

    def _connection(self):
        """(conn_key, client factory, where): the client is made (and pooled per process) only
        when a value must really be fetched, so a cache hit costs no boto3 client."""
        if not self.get_option("region"):
            self._set_default_region()
        region, endpoint, params = get_aws_connection_info(self)
        material = repr((region, endpoint, sorted((k, str(v)) for k, v in params.items()),
                         os.environ.get("AWS_PROFILE"), os.environ.get("AWS_ACCESS_KEY_ID")))
        conn_key = hashlib.sha256(material.encode("utf-8")).hexdigest()

        def factory():
            if conn_key not in STATE.clients:
                STATE.clients[conn_key] = self.client("secretsmanager", retry_decorator())
            return STATE.clients[conn_key]

        where = {"region": region, "endpoint": endpoint or os.environ.get("AWS_ENDPOINT_URL") or f"https://secretsmanager.{region}.amazonaws.com"}
        return conn_key, factory, where

    def _set_default_region(self):
        """Without a region option, amazon.aws asks a new boto3 Session for the default region
        (the profile's, AWS_DEFAULT_REGION) each time connection settings are read: ~5 ms, on
        every lookup of a loop.  Ask amazon.aws once per process and these settings, and give
        its answer as the region option."""
        key = (self.get_option("profile"),) + tuple(os.environ.get(name) for name in _REGION_ENV)
        if key not in STATE.regions:
            STATE.regions[key] = get_aws_region(self)
        if STATE.regions[key]:
            self.set_option("region", STATE.regions[key])

    def _values(self, reader, parsed, opts):
        wanted = []
        for secret_id, key, stage, version_id in parsed:
            key = key or opts["key"]
            if not stage and not version_id:
                stage, version_id = opts["version_stage"], opts["version_id"]
            wanted.append((secret_id, key, stage or (None if version_id else "AWSCURRENT"), version_id))
        entries = reader.read([(sid, stage, vid) for sid, _key, stage, vid in wanted])
        return [self._decoded(entries[(secret_id, stage, version_id)], key, secret_id, opts)
                for secret_id, key, stage, version_id in wanted]

    def _decoded(self, entry, key, secret_id, opts):
        """The value of one entry (key selected), or what on_* says for a failure."""
        try:
            if isinstance(entry, Failure):
                raise entry
            try:
                return select_key(decode_value(entry, opts["binary"]), key, secret_id)
            except KeyError as exc:
                raise Failure("missing", exc.args[0]) from None
        except Failure as failure:
            return self._handle(failure, opts)

    def _by_path(self, reader, path, opts):
        try:
            names = reader.list_names(path)
        except Failure as failure:
            return self._handle(failure, opts)
        if not names:
            return self._handle(Failure("missing", f"No secret under the path {path} (region {reader.where['region']}, endpoint "
                                                   f"{reader.where['endpoint']}). Check the path, the region and the account/profile."), opts)
        entries = reader.read([(name, "AWSCURRENT", None) for name in names])
        out = {name: self._decoded(entries[(name, "AWSCURRENT", None)], opts["key"], name, opts) for name in names}
        return {name: value for name, value in out.items() if value is not _SKIP}

    def _handle(self, failure, opts):
        action = opts[f"on_{failure.kind}"]
        if action == "error":
            raise AnsibleLookupError(str(failure))
        if action == "warn":
            display.warning(str(failure))
        return opts["default"] if opts["has_default"] else _SKIP


def _merge(terms, results, bypath):
    """One dict from the JSON objects of all terms (later terms win)."""
    merged = {}
    for term, value in zip(terms, results):
        if value is _SKIP:
            continue
        for item in (value.values() if bypath else [value]):
            if not isinstance(item, dict):
                raise AnsibleLookupError(f"merge=true needs JSON objects; {term} is not a JSON object")
            merged.update(item)
    return merged


def _is_boolean(value):
    """Ansible reads any unknown word as false for a bool option ('perhaps'); accept only booleans."""
    return isinstance(value, bool) or str(value).lower() in BOOLEANS


def _unknown_options(definitions, given):
    """Keyword options not defined for this plugin (names and aliases), sorted.  Ansible
    ignores unknown lookup keywords, so a typo (``bypth=true``) would otherwise pass silently."""
    if not given:
        return []
    known = set(definitions)
    for spec in definitions.values():
        known.update((spec or {}).get("aliases") or ())
    return sorted(set(given) - known)


def _play_has_other_hosts(variables):
    """Whether other workers may run this task: a play on one host runs each task in a single
    worker process, so a broker would cost its start-up and save nothing.  Unknown -> True."""
    try:
        hosts = (variables or {}).get("ansible_play_hosts_all")
        return hosts is None or len(hosts) > 1
    except (TypeError, AttributeError):
        return True


def clear_cache():
    """Forget cached values and clients (tests; a long-lived controller process)."""
    STATE.clear()
