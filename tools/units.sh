#!/usr/bin/env bash
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Run `ansible-test units` on a copy of this checkout laid out as
# ansible_collections/secretsops/aws (tools/sanity.sh does the work). By default in a fresh
# virtualenv (`--venv --requirements`) with ansible-test's unit requirements (pytest-xdist,
# pytest-mock, ...) plus tests/unit/requirements.txt (boto3/botocore/moto when the file is
# absent); set ANSIBLE_TEST_ENV=--local to use .venv as it is instead.
# Usage: tools/units.sh [TEST-PATH...] [-- EXTRA ansible-test OPTIONS...]
set -euo pipefail
export ANSIBLE_TEST_ENV="${ANSIBLE_TEST_ENV:---venv --requirements}"
ANSIBLE_TEST_COMMAND=units exec "$(dirname "${BASH_SOURCE[0]}")/sanity.sh" "$@"
