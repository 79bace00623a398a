# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local emulator itself (tools/emulator.py, tools/emulator_server.py), not the collection.

- ``serve`` starts a persistent emulator and prints the environment to ``eval``; a second
  ``serve`` reuses it; ``stop`` stops it (and is a no-op when nothing runs).
- The server has the environment the one-shot mode gives it: AWS managed IAM policies loaded,
  ECS services reporting running tasks.
- moto 5.2.5's DescribeTrails ignores ``trailNameList``; the emulator's server corrects that,
  so two applications' trails live side by side on one emulator (names in the request's region,
  ARNs anywhere, unknown names left out) -- in ``serve`` and in the one-shot mode alike.
"""
import json
import os
import shlex
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
EMULATOR = [sys.executable, os.path.join(ROOT, "tools", "emulator.py")]
REGION = "us-east-1"

pytestmark = pytest.mark.integration


def emulator(*args, state_dir, check=True):
    env = dict(os.environ, SECRETSOPS_EMULATOR_DIR=str(state_dir))
    proc = subprocess.run(EMULATOR + list(args), capture_output=True, text=True, env=env, timeout=90, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def parse_exports(stdout):
    """The ``export K=V ...`` line of ``serve`` as a dict (and the ``unset`` line as a list)."""
    exports, unset = {}, []
    for line in stdout.splitlines():
        words = shlex.split(line)
        if words[:1] == ["export"]:
            exports.update(word.split("=", 1) for word in words[1:])
        elif words[:1] == ["unset"]:
            unset.extend(words[1:])
    return exports, unset


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        return handle.read().split(") ", 1)[1][0] != "Z"  # a zombie has exited


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("emulator-state")
    proc = emulator("serve", state_dir=state_dir)
    try:
        exports, unset = parse_exports(proc.stdout)
        yield {"env": exports, "unset": unset, "state_dir": state_dir, "stderr": proc.stderr}
    finally:
        emulator("stop", state_dir=state_dir, check=False)


def client(env, service, region=None):
    import boto3

    return boto3.client(service, region_name=region or env["AWS_REGION"], endpoint_url=env["AWS_ENDPOINT_URL"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def test_serve_prints_the_environment(served):
    env = served["env"]
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["SECRETSOPS_EMULATOR_URL"] == env["AWS_ENDPOINT_URL"]
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"]
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert "AWS_PROFILE" in served["unset"] and "AWS_SESSION_TOKEN" in served["unset"]
    state = json.loads((served["state_dir"] / "state.json").read_text())
    assert state["url"] == env["AWS_ENDPOINT_URL"] and alive(state["pid"])


def test_serve_again_reuses_the_running_emulator(served):
    again = emulator("serve", state_dir=served["state_dir"])
    assert parse_exports(again.stdout)[0]["AWS_ENDPOINT_URL"] == served["env"]["AWS_ENDPOINT_URL"]
    assert "already running" in again.stderr


def test_served_emulator_is_configured_like_the_one_shot_mode(served):
    env = served["env"]
    # MOTO_IAM_LOAD_MANAGED_POLICIES=true: provision attaches this AWS managed policy.
    policy = client(env, "iam").get_policy(
        PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")["Policy"]
    assert policy["PolicyName"] == "AmazonECSTaskExecutionRolePolicy"
    # MOTO_ECS_SERVICE_RUNNING=1: services report a running task, so "wait until stable" can succeed.
    ecs = client(env, "ecs")
    ecs.create_cluster(clusterName="emulator-test")
    ecs.register_task_definition(family="emulator-test", containerDefinitions=[
        {"name": "app", "image": "public.ecr.aws/docker/library/busybox:latest", "memory": 64}])
    ecs.create_service(cluster="emulator-test", serviceName="app", taskDefinition="emulator-test", desiredCount=1)
    service = ecs.describe_services(cluster="emulator-test", services=["app"])["services"][0]
    assert service["runningCount"] == 1


def test_describe_trails_honours_trail_name_list(served):
    env = served["env"]
    s3, cloudtrail = client(env, "s3"), client(env, "cloudtrail")
    arns = {}
    for app in ("shop", "blog"):
        s3.create_bucket(Bucket=f"emulator-test-{app}-trail")
        arns[app] = cloudtrail.create_trail(Name=f"{app}-trail", S3BucketName=f"emulator-test-{app}-trail",
                                            IsMultiRegionTrail=True)["TrailARN"]

    def names(region=None, **kwargs):
        return sorted(t["Name"] for t in client(env, "cloudtrail", region).describe_trails(**kwargs)["trailList"])

    assert names(trailNameList=["shop-trail"]) == ["shop-trail"]
    assert names(trailNameList=["blog-trail"]) == ["blog-trail"]
    assert names(trailNameList=[arns["blog"]]) == ["blog-trail"]
    assert names(trailNameList=["shop-trail", arns["blog"]]) == ["blog-trail", "shop-trail"]
    assert names(trailNameList=["no-such-trail"]) == []
    assert {"shop-trail", "blog-trail"} <= set(names())
    # AWS: a name matches trails of the request's region only; another region's trail by its ARN.
    assert names("eu-west-1", trailNameList=["shop-trail"]) == []
    assert names("eu-west-1", trailNameList=[arns["shop"]]) == ["shop-trail"]


def test_one_shot_mode_uses_the_corrected_server(tmp_path):
    script = textwrap.dedent("""
        import boto3
        s3, cloudtrail = boto3.client("s3"), boto3.client("cloudtrail")
        for app in ("shop", "blog"):
            s3.create_bucket(Bucket=app + "-trail")
            cloudtrail.create_trail(Name=app + "-trail", S3BucketName=app + "-trail")
        found = [t["Name"] for t in cloudtrail.describe_trails(trailNameList=["blog-trail"])["trailList"]]
        assert found == ["blog-trail"], found
    """)
    proc = emulator("--", sys.executable, "-c", script, state_dir=tmp_path, check=False)
    assert proc.returncode == 0, proc.stderr


def test_stop_stops_the_served_emulator(tmp_path):
    served = parse_exports(emulator("serve", state_dir=tmp_path).stdout)[0]
    pid = json.loads((tmp_path / "state.json").read_text())["pid"]
    stopped = emulator("stop", state_dir=tmp_path)
    assert not alive(pid)
    assert not (tmp_path / "state.json").exists()
    assert "AWS_ENDPOINT_URL" in parse_exports(stopped.stdout)[1]
    assert served["AWS_ENDPOINT_URL"] in stopped.stderr
    again = emulator("stop", state_dir=tmp_path)
    assert "no emulator was running" in again.stderr
