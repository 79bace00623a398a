# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/audit.yml against the emulator: the demo app provisioned by playbooks/provision.yml
passes every check and gets both report files; each kind of breakage fails the audit naming the
check (or the broken deploy), and no secret value shows up in the output or the reports."""
import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir))
BIN = os.path.dirname(sys.executable)
pytestmark = [pytest.mark.integration, pytest.mark.slow]

SHOP = os.path.join(ROOT, "playbooks", "demo", "shop.yml")
# Example values of playbooks/demo/shop.yml: none of them may appear in any output or report.
SHOP_VALUES = [
    str(value)
    for secret in yaml.safe_load(open(SHOP, encoding="utf-8"))["secretsops_secrets"]
    for value in (secret.get("json") or {}).values()
    if isinstance(value, str) and len(value) > 8
]


def run_playbook(emulator, tmp_path, playbook, extra_vars=None, env=None):
    """Run a playbook of the collection with the demo variables against the emulator (``env``:
    another environment than ``emulator.ansible_env``)."""
    env = env or emulator.ansible_env(tmp_path)
    # The conftest emulator does not load AWS managed policies (MOTO_IAM_LOAD_MANAGED_POLICIES),
    # so the execution role gets only our read policy here.
    extra = dict({"iam_secret_access_execution_role_managed_policies": []}, **(extra_vars or {}))
    command = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
               os.path.join(ROOT, "playbooks", playbook), "-e", "@" + SHOP, "-e", json.dumps(extra)]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=False)


def assert_no_values(*texts):
    for text in texts:
        for value in SHOP_VALUES:
            assert value not in text, "a secret value leaked into the audit output or report"


@pytest.fixture
def shop(emulator, tmp_path):
    """The demo app provisioned; returns a function running the audit into a report dir."""
    proc = run_playbook(emulator, tmp_path, "provision.yml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report_dir = tmp_path / "report"

    def audit(**extra_vars):
        proc = run_playbook(emulator, tmp_path, "audit.yml",
                            dict({"secretsops_audit_report_dir": str(report_dir)}, **extra_vars))
        md = (report_dir / "audit-prod-shop.md").read_text(encoding="utf-8")
        html = (report_dir / "audit-prod-shop.html").read_text(encoding="utf-8")
        assert_no_values(proc.stdout, proc.stderr, md, html)
        return proc, md, html

    return audit


def failed_rows(md):
    return [line for line in md.splitlines() if line.startswith("| FAIL |")]


def test_audit_passes_for_the_provisioned_demo_app(shop):
    proc, md, html = shop()
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Audit of prod/shop passed" in proc.stdout
    assert "12 passed, 0 failed" in proc.stdout
    assert failed_rows(md) == []
    for check in ("Expected secrets exist under prod/shop/", "Secrets tagged Environment=prod and Application=shop",
                  "No unexpected secret under prod/shop/", "Read policy secretsops-prod-shop-read exists",
                  "Read policy attached to a role", "Read policy scoped to prod/shop/*",
                  "CloudTrail logging, multi-region, log file validation",
                  "Rotation configured or last change within 90 days",
                  "Failed-retrieval alarm secretsops-prod-shop-failed-secretsmanager-calls",
                  "No broken deploys"):
        assert any(line.startswith("| PASS | " + check) for line in md.splitlines()), check
    assert "9 references resolve to existing secrets and keys" in md
    assert "| Secrets ($0.40 each) | 6 | 2.40 |" in md
    assert "**2.90**" in md  # 6 x $0.40 + 100,000 calls x $0.05 / 10,000
    assert "2 secrets hold a single key (prod/shop/openai, prod/shop/postmark)" in md
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert html.count('<span class="badge PASS">PASS</span>') == 12
    assert "<script" not in html and "http://" not in html and "https://" not in html  # self-contained


def test_audit_fails_naming_each_broken_check(shop, emulator):
    """One provisioning, four kinds of breakage, each named by the failing audit."""
    sm = emulator.client("secretsmanager")
    sm.untag_resource(SecretId="prod/shop/jwt", TagKeys=["Application"])
    sm.create_secret(Name="prod/shop/legacy", SecretString='{"OLD_TOKEN": "unused-example"}',
                     Tags=[{"Key": "Environment", "Value": "prod"}, {"Key": "Application", "Value": "shop"}])
    # The app secret loses a key the task definition injects (the value itself stays unseen).
    sm.put_secret_value(SecretId="prod/shop/app", SecretString=json.dumps({"ENCRYPTION_KEY": "x" * 64}))
    # The read policy gets a wildcard action on every secret.
    loose = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Loose", "Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}
    emulator.client("iam").create_policy_version(
        PolicyArn="arn:aws:iam::123456789012:policy/secretsops-prod-shop-read",
        PolicyDocument=json.dumps(loose), SetAsDefault=True)
    # A second revision refers to a secret by name (ECS needs the full ARN); revision 1 stays active.
    ecs = emulator.client("ecs")
    current = ecs.describe_task_definition(taskDefinition="shop-api")["taskDefinition"]
    container = dict(current["containerDefinitions"][0],
                     secrets=[{"name": "STRIPE_SECRET_KEY", "valueFrom": "prod/shop/stripe:STRIPE_SECRET_KEY::"}])
    ecs.register_task_definition(family="shop-api", containerDefinitions=[container],
                                 executionRoleArn=current["executionRoleArn"], taskRoleArn=current["taskRoleArn"],
                                 networkMode=current["networkMode"], cpu=current["cpu"], memory=current["memory"],
                                 requiresCompatibilities=current.get("requiresCompatibilities", []))

    proc, md, html = shop(secretsops_audit_monthly_api_calls=0)

    assert proc.returncode != 0
    assert "Audit of prod/shop failed" in proc.stdout
    rows = failed_rows(md)
    assert any("Secrets tagged" in row and "prod/shop/jwt (Application)" in row for row in rows), rows
    assert any("No unexpected secret" in row and "prod/shop/legacy" in row for row in rows), rows
    assert any("Read policy scoped" in row and "wildcard action secretsmanager:*" in row for row in rows), rows
    assert any("No broken deploys" in row for row in rows), rows
    assert "JSON key SESSION_SECRET missing from the current value" in md
    assert "| shop-api:2 shop-api STRIPE_SECRET_KEY | `prod/shop/stripe:STRIPE_SECRET_KEY::` | not a full secret ARN" in md
    assert any(line.startswith("| PASS | Task definition families found | shop-api:2, shop-api:1") for line in md.splitlines())
    assert not any("Expected secrets exist" in row or "CloudTrail" in row for row in rows), rows
    assert "| WARN | Every secret used by an active task definition | candidates to remove: prod/shop/legacy |" in md
    for check in ("Secrets tagged", "No unexpected secret", "Read policy scoped", "No broken deploys"):
        assert check in proc.stdout  # the failure message names the check
    assert '<span class="badge FAIL">FAIL</span>' in html
    assert "**2.80**" in md  # 7 secrets, no calls
    assert "unused-example" not in md + html + proc.stdout


def test_relative_report_dir_is_relative_to_the_working_directory(emulator, tmp_path):
    """A relative secretsops_audit_report_dir lands in the directory ansible-playbook runs in, even
    when the PWD environment variable names another one (a parent that changed directory without a
    shell, as subprocess(cwd=...) does). Nothing is provisioned, so the audit fails its checks, but
    the report is written first."""
    run_dir, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    run_dir.mkdir()
    elsewhere.mkdir()
    env = emulator.ansible_env(tmp_path, PWD=str(elsewhere))
    variables = {"secretsops_env": "prod", "secretsops_app": "shop", "secretsops_expected_categories": ["database"],
                 "secretsops_audit_report_dir": "reports", "ansible_python_interpreter": sys.executable}
    command = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
               os.path.join(ROOT, "playbooks", "audit.yml"), "-e", json.dumps(variables)]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=run_dir, timeout=600, check=False)
    assert "Audit of prod/shop failed" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert (run_dir / "reports" / "audit-prod-shop.md").is_file()
    assert (run_dir / "reports" / "audit-prod-shop.html").is_file()
    assert not (elsewhere / "reports").exists()
    assert not os.path.exists(os.path.join(ROOT, "playbooks", "reports"))


def env_without_region(emulator, tmp_path, **region_vars):
    """The emulator's environment with no region from the environment or a config file (the
    emulator wrapper sets both AWS_REGION and AWS_DEFAULT_REGION), plus ``region_vars``."""
    env = emulator.ansible_env(tmp_path, AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"), **region_vars)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if name not in region_vars:
            env.pop(name, None)
    return env


@pytest.mark.parametrize("how", ["AWS_REGION only", "secretsops_region only"])
def test_audit_takes_the_region_like_every_module(emulator, tmp_path, how):
    """Audit reads everything through modules, so the region comes from AWS_REGION (without
    AWS_DEFAULT_REGION, which plain boto3 would need) or from secretsops_region with no region in
    the environment at all. A region other than the default proves which one was used."""
    region = "eu-west-2"
    if how == "AWS_REGION only":
        env, region_vars = env_without_region(emulator, tmp_path, AWS_REGION=region), {}
    else:
        env, region_vars = env_without_region(emulator, tmp_path), {"secretsops_region": region}
    proc = run_playbook(emulator, tmp_path, "provision.yml", region_vars, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert emulator.client("secretsmanager", region=region).describe_secret(SecretId="prod/shop/jwt")["ARN"]
    report_dir = tmp_path / "report"
    proc = run_playbook(emulator, tmp_path, "audit.yml",
                        dict(region_vars, secretsops_audit_report_dir=str(report_dir)), env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "NoRegionError" not in proc.stdout + proc.stderr
    assert "Audit of prod/shop passed" in proc.stdout
    assert f"/{region}:" in proc.stdout  # the summary names the region audited
    md = (report_dir / "audit-prod-shop.md").read_text(encoding="utf-8")
    assert any(line.startswith("| PASS | Read policy scoped to prod/shop/*") for line in md.splitlines())
    assert f"secretsmanager:{region}:" in md
    assert_no_values(proc.stdout, proc.stderr, md)
