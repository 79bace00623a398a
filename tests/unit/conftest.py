# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.secretsops.aws`` importable from this checkout.

``make setup`` links the checkout as ``.collections/ansible_collections/secretsops/aws``; that
directory is put first on ``sys.path`` (computed from this file, so it works from any cwd).
amazon.aws comes from the same namespace package in the venv's site-packages.
"""
import os
import sys

_COLLECTIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, ".collections")
_COLLECTIONS = os.path.normpath(_COLLECTIONS)
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
