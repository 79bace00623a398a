#!/usr/bin/env python
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""moto's server with the emulator's corrections applied: ``python tools/emulator_server.py -H HOST -p PORT``.

Takes ``moto_server``'s arguments. Every emulator of this repository (``tools/emulator.py``, its
``serve`` mode, the test fixtures) starts this instead of ``moto_server``, so all of them answer
alike. The corrections patch moto inside this process only; the collection never works around
an emulator (a playbook that passes here must pass against AWS for the same reason).

Corrections (moto 5.2.5; each is skipped, with a note on stderr, if moto's code no longer has
the shape it patches):

- CloudTrail ``DescribeTrails`` ignores ``trailNameList`` and returns every trail of the
  account, so ``amazon.aws.cloudtrail`` (which describes its trail by name and takes the first
  answer) picks another application's trail, and the second application with a trail on one
  emulator fails with "Unknown trail". AWS returns only the listed trails: names match trails
  whose home region is the request's region, ARNs match in any region, unknown entries are left
  out; an empty or missing list still returns every trail (moto's behaviour, as AWS).
- IAM ``CreatePolicy`` accepts a name that a customer managed policy of the account already has
  under another path; AWS refuses it with ``EntityAlreadyExists`` ("policy names are unique
  within an account ... Paths do not affect the uniqueness"), which
  ``secretsops.aws.iam_managed_policy`` reports naming the existing policy.
"""
import json
import sys


def _describe_trails_by_name_or_arn(original):
    from moto.cloudtrail.models import cloudtrail_backends

    def describe_trails(self):
        wanted = self._get_param("trailNameList") or []
        if not wanted:
            return original(self)
        backend = self.cloudtrail_backend
        found = []
        for region_backend in cloudtrail_backends[backend.account_id].values():
            for trail in region_backend.trails.values():
                if trail.arn in wanted or (trail.trail_name in wanted and trail.region_name == backend.region_name):
                    found.append(trail)
        return json.dumps({"trailList": [trail.description(include_region=True) for trail in found]})

    describe_trails.secretsops_patched = True
    return describe_trails


def _create_policy_name_unique(original):
    from moto.iam.exceptions import EntityAlreadyExists

    def create_policy(self, description, path, policy_document, policy_name, tags):
        prefix = f"arn:{self.partition}:iam::{self.account_id}:policy/"
        for arn, policy in self.managed_policies.items():
            if arn.startswith(prefix) and policy.name == policy_name:
                raise EntityAlreadyExists(f"A policy called {policy_name} already exists. Duplicate names are not allowed.")
        return original(self, description, path, policy_document, policy_name, tags)

    create_policy.secretsops_patched = True
    return create_policy


def _corrections():
    """(description, owner class loader, attribute, patch factory) for every correction."""
    def cloudtrail_response():
        from moto.cloudtrail.responses import CloudTrailResponse
        return CloudTrailResponse

    def iam_backend():
        from moto.iam.models import IAMBackend
        return IAMBackend

    return [
        ("cloudtrail:DescribeTrails honours trailNameList", cloudtrail_response, "describe_trails",
         _describe_trails_by_name_or_arn),
        ("iam:CreatePolicy refuses a policy name taken under another path", iam_backend, "create_policy",
         _create_policy_name_unique),
    ]


def patch_moto():
    """Apply the corrections to the imported moto; return the names of those applied."""
    applied = []
    for description, owner, attribute, factory in _corrections():
        try:
            cls = owner()
            original = getattr(cls, attribute)
            if not getattr(original, "secretsops_patched", False):
                setattr(cls, attribute, factory(original))
            applied.append(description)
        except (ImportError, AttributeError) as exc:
            print(f"emulator_server: {description}: not patched ({exc})", file=sys.stderr)
    return applied


def main(argv):
    patch_moto()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
