# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run each self-verifying role test playbook (tests/integration/roles/*.yml) against its own
fresh emulator.  Each playbook converges twice (asserting the second run changes nothing),
runs check mode, and verifies the resources through the AWS API with *_info modules; a failed
assertion fails the playbook and so this test."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
PLAYBOOKS = sorted((ROOT / "tests" / "integration" / "roles").glob("*.yml"))


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=[p.stem for p in PLAYBOOKS])
def test_role_playbook(playbook):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run(
        [str(BIN / "python"), str(ROOT / "tools" / "emulator.py"), "--", str(BIN / "ansible-playbook"), str(playbook)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=False,
    )
    recap = proc.stdout[proc.stdout.rfind("PLAY RECAP"):]
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "failed=0" in recap
