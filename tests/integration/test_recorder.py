# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tools/aws_recorder.py itself: latency and fault injection as botocore sees them.

Each test puts a private ``Recorder`` (with faults) in front of the session's moto server and
talks to it with boto3.  botocore's retry back-off is patched to zero so that the tests take
seconds; which errors botocore retries is not patched.
"""
import json
import time
import urllib.request
import uuid

import pytest
from aws_recorder import KINDS, Faults, Recorder  # tools/, put on sys.path by conftest.py

import boto3
import botocore.exceptions
import botocore.retries.standard
import botocore.retryhandler
from botocore.config import Config

REGION = "us-east-1"
ERROR_KINDS = ("throttle", "500", "503")
# service -> (a read call, the codes botocore must report for throttle / 500 / 503)
PROTOCOLS = {
    "secretsmanager": (lambda c: c.list_secrets(), ("ThrottlingException", "InternalFailure", "ServiceUnavailable")),
    "iam": (lambda c: c.list_roles(), ("Throttling", "InternalFailure", "ServiceUnavailable")),
    "sts": (lambda c: c.get_caller_identity(), ("Throttling", "InternalFailure", "ServiceUnavailable")),
    "ec2": (lambda c: c.describe_vpcs(), ("RequestLimitExceeded", "InternalError", "ServiceUnavailable")),
    "cloudwatch": (lambda c: c.describe_alarms(), ("ThrottlingException", "InternalFailure", "ServiceUnavailable")),
    "s3": (lambda c: c.list_buckets(), ("SlowDown", "InternalError", "ServiceUnavailable")),
    "lambda": (lambda c: c.list_functions(), ("TooManyRequestsException", "ServiceException", "ServiceUnavailable")),
}


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    """Retry at once (botocore would wait up to a second or more between attempts)."""
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(botocore.retryhandler, "delay_exponential", lambda base, growth_factor, attempts: 0)


@pytest.fixture
def proxy(aws):
    """A factory of started recorders in front of the session's moto; all stopped afterwards."""
    started = []

    def make(**kwargs):
        recorder = Recorder(aws.moto_url, **kwargs).start()
        started.append(recorder)
        return recorder

    yield make
    for recorder in started:
        recorder.stop()


def client(service, url, mode="standard", attempts=None, read_timeout=10):
    retries = {"mode": mode}
    if attempts is not None:
        retries["total_max_attempts"] = attempts  # ("max_attempts" counts retries only)
    return boto3.client(service, region_name=REGION, endpoint_url=url, aws_access_key_id="testing",
                        aws_secret_access_key="testing",
                        config=Config(retries=retries, read_timeout=read_timeout, connect_timeout=5))


def direct(aws, service):
    return aws.client(service)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- what botocore sees -----------------------------------------------------------------------
@pytest.mark.parametrize("service", sorted(PROTOCOLS))
@pytest.mark.parametrize("kind", ERROR_KINDS)
def test_error_bodies_parse_as_the_intended_codes(proxy, service, kind):
    recorder = proxy(faults=Faults(rate=1.0, kinds=[kind], placement="before"))
    call, codes = PROTOCOLS[service]
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(client(service, recorder.url, attempts=1))
    assert raised.value.response["Error"]["Code"] == codes[ERROR_KINDS.index(kind)]
    [record] = recorder.records()
    assert (record.fault, record.placement, record.upstream_status) == (kind, "before", None)
    assert record.status == raised.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize("mode", ["standard", "legacy"])
@pytest.mark.parametrize("service", sorted(PROTOCOLS))
@pytest.mark.parametrize("kind", ERROR_KINDS + ("close",))
def test_every_fault_kind_is_retried(proxy, mode, service, kind):
    # Every call faulted, but never twice in a row: attempt 1 fails, attempt 2 gets through.
    recorder = proxy(faults=Faults(rate=1.0, kinds=[kind], placement="before", max_in_a_row=1))
    call, _codes = PROTOCOLS[service]
    answer = call(client(service, recorder.url, mode=mode))
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1
    first, second = recorder.records()
    assert first.fault == kind and second.fault is None
    assert first.operation == second.operation


def test_connection_closed_without_an_answer(proxy):
    recorder = proxy(faults=Faults(rate=1.0, kinds=["close"], placement="before"))
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        client("secretsmanager", recorder.url, attempts=1).list_secrets()
    [record] = recorder.records()
    assert record.status is None and record.fault == "close"


def test_slow_answer_is_late_and_times_out_a_short_read_timeout(proxy):
    recorder = proxy(faults=Faults(rate=1.0, kinds=["slow"], placement="before", slow_seconds=0.6))
    start = time.monotonic()
    answer = client("secretsmanager", recorder.url, attempts=1).list_secrets()
    assert time.monotonic() - start >= 0.6
    assert answer["ResponseMetadata"]["RetryAttempts"] == 0
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        client("secretsmanager", recorder.url, attempts=1, read_timeout=0.2).list_secrets()
    recorder.set_faults(rate=1.0, kinds=["slow"], placement="before", slow_seconds=0.6, max_in_a_row=1)
    answer = client("secretsmanager", recorder.url, read_timeout=0.2).list_secrets()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1


# -- before vs after forwarding ---------------------------------------------------------------
@pytest.mark.parametrize("placement", ["before", "after"])
@pytest.mark.parametrize("kind", ERROR_KINDS + ("close",))
def test_before_forwarding_nothing_happens_after_forwarding_the_write_happened(aws, proxy, kind, placement):
    """Both look failed to the client; only an "after" fault reached the emulator (a lost answer)."""
    recorder = proxy(faults=Faults(rate=1.0, kinds=[kind], placement=placement))
    name = unique(placement)
    with pytest.raises((botocore.exceptions.ClientError, botocore.exceptions.ConnectionClosedError)):
        client("secretsmanager", recorder.url, attempts=1).create_secret(Name=name, SecretString="x")
    names = [s["Name"] for s in direct(aws, "secretsmanager").list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]]
    assert names == ([name] if placement == "after" else [])
    [record] = recorder.records()
    assert (record.fault, record.placement, record.upstream_status) == (kind, placement, 200 if placement == "after" else None)


@pytest.mark.parametrize("service", ["iam", "s3"])
def test_after_forwarding_applies_query_and_rest_writes(aws, proxy, service):
    recorder = proxy(faults=Faults(rate=1.0, kinds=["throttle"], placement="after"))
    name = unique("lost")
    faulty = client(service, recorder.url, attempts=1)
    with pytest.raises(botocore.exceptions.ClientError):
        if service == "iam":
            faulty.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
        else:
            faulty.create_bucket(Bucket=name)
    if service == "iam":
        assert direct(aws, "iam").get_role(RoleName=name)["Role"]["RoleName"] == name
    else:
        assert name in [bucket["Name"] for bucket in direct(aws, "s3").list_buckets()["Buckets"]]


def test_a_lost_create_answer_is_retried_into_already_exists(aws, proxy):
    """The case issue 11 is about: the retry of an applied create meets the created resource."""
    recorder = proxy(faults=Faults(rate=1.0, kinds=["500"], placement="after", max_in_a_row=1))
    name = unique("lost-create")
    faulty = client("iam", recorder.url)
    with pytest.raises(faulty.exceptions.EntityAlreadyExistsException):
        faulty.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    assert [(r.fault, r.upstream_status) for r in recorder.records()] == [("500", 200), (None, 409)]


# -- rate, seed, filters, run-time control ----------------------------------------------------
def fault_sequence(proxy, seed, calls=40, **fields):
    recorder = proxy(faults=Faults(rate=0.5, seed=seed, kinds=KINDS, slow_seconds=0.01, **fields))
    faulty = client("secretsmanager", recorder.url, attempts=10)
    for _attempt in range(calls):
        faulty.list_secrets()
    return [(r.operation, r.fault, r.placement) for r in recorder.records()]


def test_a_fixed_seed_gives_the_same_fault_sequence(proxy):
    first = fault_sequence(proxy, seed=7)
    assert first == fault_sequence(proxy, seed=7)
    assert first != fault_sequence(proxy, seed=8)
    faults = [fault for _op, fault, _placement in first if fault]
    assert set(faults) == set(KINDS)
    assert 0.3 < len(faults) / len(first) < 0.7


def test_rate_zero_injects_nothing(proxy):
    recorder = proxy(faults=Faults(rate=0.0, seed=1))
    faulty = client("secretsmanager", recorder.url, attempts=1)
    for _attempt in range(20):
        faulty.list_secrets()
    assert len(recorder.records()) == 20
    assert recorder.injected() == []
    assert [op for _time, op in recorder.timed_calls()] == recorder.calls() == ["secretsmanager:ListSecrets"] * 20


def test_filters_writes_only_operations_and_exclude(aws, proxy):
    recorder = proxy(faults=Faults(rate=1.0, kinds=["500"], writes_only=True))
    faulty = client("secretsmanager", recorder.url, attempts=1)
    faulty.list_secrets()
    with pytest.raises(botocore.exceptions.ClientError):
        faulty.create_secret(Name=unique("w"), SecretString="x")
    assert [r.operation for r in recorder.injected()] == ["secretsmanager:CreateSecret"]

    recorder.set_faults(rate=1.0, kinds=["500"], operations=["secretsmanager:ListSecrets"])
    recorder.reset()
    faulty.create_secret(Name=unique("w"), SecretString="x")
    with pytest.raises(botocore.exceptions.ClientError):
        faulty.list_secrets()
    assert [r.operation for r in recorder.injected()] == ["secretsmanager:ListSecrets"]

    recorder.set_faults(rate=1.0, kinds=["500"], exclude=["ListSecrets"])
    recorder.reset()
    faulty.list_secrets()
    assert recorder.injected() == []


def test_run_time_control_over_http(proxy):
    recorder = proxy()

    def control(method, name, data=None):
        body = None if data is None else json.dumps(data).encode()
        request = urllib.request.Request(f"{recorder.url}/_recorder/{name}", data=body, method=method)
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.load(answer)

    faulty = client("secretsmanager", recorder.url, attempts=1)
    assert control("POST", "faults", {"rate": 1.0, "kinds": ["503"], "placement": "before"})["faults"]["rate"] == 1.0
    with pytest.raises(botocore.exceptions.ClientError):
        faulty.list_secrets()
    assert control("DELETE", "faults")["faults"] is None
    faulty.list_secrets()
    calls = control("GET", "calls")["calls"]
    assert [(c["operation"], c["fault"], c["status"]) for c in calls] == [
        ("secretsmanager:ListSecrets", "503", 503), ("secretsmanager:ListSecrets", None, 200)]
    assert control("POST", "latency", {"seconds": 0.05})["latency"] == 0.05
    control("POST", "reset", {})
    assert recorder.calls() == []
    with pytest.raises(urllib.error.HTTPError):
        control("POST", "faults", {"rate": 2})


def test_invalid_fault_settings_are_refused():
    with pytest.raises(ValueError):
        Faults(rate=0.5, kinds=["teapot"])
    with pytest.raises(ValueError):
        Faults(rate=0.5, placement="during")


# -- latency ----------------------------------------------------------------------------------
def test_latency_adds_the_delay_to_every_call(proxy):
    recorder = proxy(latency=0.05)
    faulty = client("secretsmanager", recorder.url, attempts=1)
    faulty.list_secrets()  # connection set-up, not measured
    start = time.monotonic()
    for _attempt in range(5):
        faulty.list_secrets()
    slow = time.monotonic() - start
    recorder.latency = 0.0
    start = time.monotonic()
    for _attempt in range(5):
        faulty.list_secrets()
    fast = time.monotonic() - start
    assert slow >= 0.25
    assert slow - fast >= 0.2
