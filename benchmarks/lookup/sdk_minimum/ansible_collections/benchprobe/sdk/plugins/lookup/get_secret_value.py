# -*- coding: utf-8 -*-
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark reference only, never shipped: the least any botocore-based lookup must do.

One module-level botocore client (no boto3, no amazon.aws, no options, no error handling, no
cache) and one GetSecretValue per term. Its time in workload (a) is the floor plus what the SDK
itself costs (import, client creation, 50 signed HTTP round trips); no real lookup can beat it.
"""

DOCUMENTATION = r"""
name: get_secret_value
author: secretsops.aws contributors
short_description: Benchmark reference, the minimum botocore-based secret read
description:
  - One botocore client per process and one GetSecretValue call per term; JSON values parsed.
  - Region and endpoint come from E(AWS_REGION) and E(AWS_ENDPOINT_URL).
options:
  _terms:
    description: Secret names.
    required: true
"""

import json
import os

import botocore.session

from ansible.plugins.lookup import LookupBase

_CLIENTS = []


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if not _CLIENTS:
            _CLIENTS.append(botocore.session.get_session().create_client(
                "secretsmanager", region_name=os.environ["AWS_REGION"], endpoint_url=os.environ["AWS_ENDPOINT_URL"]))
        return [json.loads(_CLIENTS[0].get_secret_value(SecretId=term)["SecretString"]) for term in terms]
