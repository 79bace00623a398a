# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: internal to the secretsops.aws collection; may change without notice.

"""The lookup's reads: through this process's cache, then the run's shared cache broker, then
AWS through the domain layer's ``api`` (batched AWSCURRENT reads, one GetSecretValue per other
request).  Per-secret failures come back as ``Failure`` (missing / denied / deleted) so the
lookup's ``on_*`` options apply per secret.

Process state (clients, cached entries, the broker connection) lives in ``STATE``: memory only,
never on disk, for the life of the Ansible process (or forked worker).
"""

import time

from ansible.errors import AnsibleLookupError
from ansible.utils.display import Display

from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager import api
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import SecretsManagerError
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import explain_error
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import explain_missing_version
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import is_deleted_error
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import is_denied
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.errors import is_missing
from ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager.values import path_matches

display = Display()


class ProcessState:
    """What must outlive one lookup call in this process: clients per connection key, cached
    GetSecretValue-shaped entries, the connection keys for which BatchGetSecretValue was
    denied, the shared cache broker (a BrokerClient once connected, False when unavailable),
    the default region per profile/environment (when no region option is given), and whether
    amazon.aws' SDK version check has run."""

    def __init__(self):
        self.clients = {}
        self.cache = {}
        self.batch_denied = set()
        self.broker = None
        self.regions = {}
        self.sdk_checked = False

    def clear(self):
        """Forget cached values and clients (tests; a long-lived controller process)."""
        self.cache.clear()
        self.clients.clear()
        self.batch_denied.clear()
        self.regions.clear()


STATE = ProcessState()


class Failure(Exception):
    """A per-secret failure: ``kind`` is missing / denied / deleted (the lookup's on_* options)."""

    def __init__(self, kind, message):
        self.kind = kind
        super().__init__(message)


def task_scope():
    """The uuid of the task this worker process runs (Ansible's WorkerProcess keeps it as
    ``_task``), or "" outside a worker."""
    import multiprocessing

    task = getattr(multiprocessing.current_process(), "_task", None)
    return str(getattr(task, "_uuid", "") or "")


def shared_broker():
    """The shared cache broker of this ansible-playbook run, or None (then each worker process
    keeps its own cache).  Never fails a lookup."""
    if not task_scope():
        return None  # not in a task worker: nothing to share with
    if STATE.broker is None:
        # Imported here: a play on one host never needs it.
        from ansible_collections.secretsops.aws.plugins.plugin_utils._cache_broker import BrokerClient

        try:
            client = BrokerClient()
            client.ensure_running()
            STATE.broker = client
        except (OSError, ValueError) as exc:
            display.vvv(f"secretsops.aws.secret: shared cache unavailable ({exc}); caching per process")
            STATE.broker = False
    return STATE.broker or None


class Reader:
    """Reads secret values through the caches (this process, then the run's shared broker),
    batching AWSCURRENT reads; only cache misses reach AWS.

    ``where``: {region, endpoint} for error messages; ``ttl``: seconds (0 = no cache)."""

    def __init__(self, client_factory, conn_key, ttl, where, broker=None):
        self._client_factory = client_factory
        self.conn_key = conn_key
        self.ttl = ttl
        self.where = where
        self.broker = broker

    @property
    def client(self):
        return self._client_factory()

    def fail(self, exc, secret_id, stage=None, version_id=None):
        """A per-secret Failure for ``exc``; any other error stops the lookup."""
        message = explain_error(exc, secret_id, self.where["region"], self.where["endpoint"])
        if is_denied(exc):
            return Failure("denied", message)
        if is_missing(exc):
            if stage not in (None, "AWSCURRENT") or version_id:
                message = self._explain_missing_version(secret_id, stage, version_id) or message
            return Failure("missing", message)
        if is_deleted_error(exc):
            return Failure("deleted", f"Secret {secret_id} is scheduled for deletion ({self.where['region']}); restore it or stop reading it")
        raise AnsibleLookupError(message)

    def _explain_missing_version(self, secret_id, stage, version_id):
        """When the secret exists, say which stage/version it lacks and which it has."""
        try:
            described = api.describe_secret(self.client, secret_id)
        except SecretsManagerError:
            return None
        if described is None:
            return None
        return explain_missing_version(secret_id, stage, version_id, described.get("VersionIdsToStages") or {})

    def _key(self, request):
        return "|".join([self.conn_key] + [part or "" for part in request])

    def _shared_key(self, request):
        # Scoped to the task: the hosts of one task share reads, a later task (which may run
        # after a module changed the secret) reads again, as with per-worker caches.
        return task_scope() + "|" + self._key(request)

    def read(self, requests):
        """{(id, stage, version_id): GetSecretValue-shaped entry or Failure}."""
        now = time.monotonic()
        out, todo = {}, []
        for request in dict.fromkeys(requests):
            cached = STATE.cache.get(self._key(request)) if self.ttl > 0 else None
            if cached and cached[0] > now:
                out[request] = cached[1]
            else:
                todo.append(request)
        claimed = self._claim(todo, out) if todo and self.broker is not None else None
        fetched = self._fetch(claimed if claimed is not None else todo)
        out.update(fetched)
        if self.ttl > 0:
            expires = time.monotonic() + self.ttl
            STATE.cache.update({self._key(r): (expires, e) for r, e in out.items() if not isinstance(e, Failure)})
        if claimed is not None:
            self._publish(claimed, fetched)
        return out

    def _claim(self, todo, out):
        """Ask the broker: its hits go into ``out``; returns the requests this worker must fetch
        (None when the broker is unavailable)."""
        try:
            hits, claimed_keys = self.broker.claim([self._shared_key(r) for r in todo], self.ttl)
        except (OSError, ValueError, KeyError) as exc:
            display.vvv(f"secretsops.aws.secret: shared cache unavailable ({exc})")
            return None
        by_key = {self._shared_key(r): r for r in todo}
        out.update({by_key[key]: entry for key, entry in hits.items()})
        return [by_key[key] for key in claimed_keys]

    def _publish(self, claimed, fetched):
        good = {r: e for r, e in fetched.items() if not isinstance(e, Failure)}
        try:
            if good:
                self.broker.put({self._shared_key(r): e for r, e in good.items()}, self.ttl)
            failed = [self._shared_key(r) for r in claimed if r not in good]
            if failed:
                self.broker.release(failed)
        except (OSError, ValueError) as exc:
            display.vvv(f"secretsops.aws.secret: shared cache unavailable ({exc})")

    def _fetch(self, todo):
        out = {}
        batchable = [req for req in todo if req[1] == "AWSCURRENT" and req[2] is None]
        if len(batchable) > 1 and self.conn_key not in STATE.batch_denied:
            out.update(self._batch([req[0] for req in batchable]))
        for request in todo:
            if request not in out:
                out[request] = self._single(*request)
        return out

    def _single(self, secret_id, stage, version_id):
        try:
            return api.get_secret_value(self.client, secret_id, stage, version_id)
        except SecretsManagerError as exc:
            return self.fail(exc, secret_id, stage, version_id)

    def _batch(self, secret_ids):
        """Batched AWSCURRENT reads; {} when the batch cannot answer (denied: remembered for
        this connection; a whole call failing otherwise: these ids are read one at a time, so
        each gets its own on_missing / on_denied / on_deleted)."""
        try:
            entries, errors = api.batch_get_secret_values(self.client, secret_ids)
        except api.BatchDenied:
            STATE.batch_denied.add(self.conn_key)
            display.vvv("secretsops.aws.secret: BatchGetSecretValue denied, reading one secret at a time")
            return {}
        except SecretsManagerError as exc:
            display.vvv(f"secretsops.aws.secret: BatchGetSecretValue failed ({exc}), reading one secret at a time")
            return {}
        out = {(secret_id, "AWSCURRENT", None): entry for secret_id, entry in entries.items()}
        for secret_id, exc in errors.items():
            out[(secret_id, "AWSCURRENT", None)] = self.fail(exc, secret_id)
        return out

    def list_names(self, path):
        """Names of all secrets under ``path`` (ListSecrets with a name filter, paginated, then a
        path-boundary check).  Secrets scheduled for deletion are not listed by AWS."""
        prefix = path.rstrip("/") + "/"
        try:
            listed = api.list_secrets(self.client, [{"Key": "name", "Values": [prefix]}])
        except SecretsManagerError as exc:
            raise self.fail(exc, prefix) from None
        return sorted(item["Name"] for item in listed if path_matches(item["Name"], path))
