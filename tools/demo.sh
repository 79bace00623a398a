#!/usr/bin/env bash
# `make demo`: the main job end to end on the local AWS emulator (run inside tools/emulator.py).
# provision -> ECS service -> read back -> rotate + redeploy -> provision again (must be changed=0)
# -> audit (report in demo-output/audit/) -> summary. No secret value is printed at any step.
set -euo pipefail
cd "$(dirname "$0")/.."
vars=(-e @playbooks/demo/shop.yml)
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "1/7 Provision: secrets, IAM read policy, task definition, CloudTrail + failed-call alarm"
ansible-playbook playbooks/provision.yml "${vars[@]}"

step "2/7 Run the shop service on ECS (demo only)"
ansible-playbook playbooks/demo/ecs_service.yml "${vars[@]}"

step "3/7 Read two values back with the lookup (fingerprints only)"
ansible-playbook playbooks/demo/read_back.yml "${vars[@]}"

step "4/7 Rotate the JWT secret and redeploy the service"
ansible-playbook playbooks/rotate.yml "${vars[@]}" -e secretsops_rotate_category=jwt \
  -e '{"secretsops_rotate_keys": ["JWT_SECRET", "JWT_REFRESH_SECRET"]}'

step "5/7 Provision again: nothing may change"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ansible-playbook playbooks/provision.yml "${vars[@]}" | tee "$log"
if ! grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' "$log"; then
  echo "demo: the second provision run changed something (expected changed=0)" >&2
  exit 1
fi
echo "second provision run: changed=0"

step "6/7 Audit the production checklist (report: demo-output/audit/)"
ansible-playbook playbooks/audit.yml "${vars[@]}" -e secretsops_audit_report_dir=demo-output/audit

step "7/7 Summary"
ansible-playbook playbooks/demo/summary.yml "${vars[@]}"
