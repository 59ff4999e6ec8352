"""The sync verifier's read access under fine-grained access control (FGAC) of an OpenSearch domain.

With FGAC on (every genba ``LogSearch``), the domain answers 403 to an IAM role that is mapped
to no security-plugin role, however broad its IAM policy ("Fine-grained access control in
Amazon OpenSearch Service", https://docs.aws.amazon.com/opensearch-service/latest/developerguide/fgac.html#fgac-mapping).

* On a genba ``LogSearch`` (or its ``domain``): a ``Custom::GenbaOpenSearchReaderRole``
  resource, applied by the search's own ISM function (it acts as the FGAC master role), puts a
  read-only role for the target index and maps the verifier's IAM role to it
  (``lambda/opensearch_ism/security_roles.py``).
* On any other domain with FGAC possibly on (imported, or a CDK ``Domain`` with it enabled):
  a synth-time warning gives the domain's owner the exact role and mapping to add.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aws_cdk import Annotations, CustomResource, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from genba_constructs._policies import _plain

# _mget is a cluster-level action (the security plugin's cluster_composite_ops_ro) that then reads
# each index's documents (indices:data/read/mget[shard]); get and search are the brief reads of one index.
READ_ACTIONS = ["indices:data/read/get", "indices:data/read/mget*", "indices:data/read/search"]


def reader_role(index: str) -> dict[str, Any]:
    """The security-plugin role: read the documents of ``index``, nothing else."""
    return {
        "cluster_permissions": ["indices:data/read/mget"],
        "index_permissions": [{"index_patterns": [index], "allowed_actions": READ_ACTIONS}],
    }


def reader_role_name(function: lambda_.IFunction, index: str) -> str:
    """A name per verifier and index, stable across synths (from the function's construct path)."""
    digest = hashlib.sha256(function.node.path.encode()).hexdigest()[:8]
    return f"genba-sync-{index}-reader-{digest}"[:100]


def _log_search(domain: opensearch.IDomain) -> Any:
    from genba_constructs.log_search import LogSearch  # the search package imports the sync targets' module tree

    scope = domain.node.scope
    return scope if isinstance(scope, LogSearch) and scope.domain is domain else None


def _fgac_possibly_on(domain: opensearch.IDomain) -> bool:
    """False only for a CDK Domain of this app whose template turns FGAC off (or leaves it off)."""
    if not isinstance(domain, opensearch.Domain):
        return True  # imported: only its owner knows
    cfn = domain.node.default_child
    assert isinstance(cfn, opensearch.CfnDomain)
    options = Stack.of(domain).resolve(cfn.advanced_security_options)
    return isinstance(options, dict) and bool(options.get("enabled") or options.get("Enabled"))


def map_reader(function: lambda_.IFunction, domain: opensearch.IDomain, index: str) -> None:
    """Map the verifier's role read-only on ``domain`` (genba's), or warn with what the owner must add."""
    role = function.role
    if role is None:
        return
    name = reader_role_name(function, index)
    search = _log_search(domain)
    if search is not None:
        from genba_constructs.log_search import ISM_CONTRACT as contract

        props = contract["properties"]
        scope = function.node.scope
        assert isinstance(scope, Construct)
        resource = CustomResource(
            scope,
            "SearchReader",
            service_token=search.index_policy_function.function_arn,
            resource_type=contract["reader_resource_type"],
            properties={
                props["endpoint"]: domain.domain_endpoint,
                props["reader_role_name"]: name,
                props["reader_role"]: json.dumps(reader_role(index), sort_keys=True),
                props["reader_backend_roles"]: [role.role_arn],
            },
        )
        # After the search's own security setup. (Until it exists the verifier gets 403: not yet, retried.)
        resource.node.add_dependency(search.index_policy)
        return
    if not _fgac_possibly_on(domain):
        return
    stack = Stack.of(function)
    role_arn = _plain(stack, stack.resolve(role.role_arn))
    role_json = json.dumps(reader_role(index), sort_keys=True)
    mapping_json = json.dumps({"backend_roles": [role_arn]})
    Annotations.of(function).add_warning_v2(
        "genba:OpenSearchReaderMapping",
        f"{function.node.path}: the OpenSearch domain is not a genba LogSearch, so genba cannot map the "
        "verifier's role under fine-grained access control (the domain answers 403 to an unmapped role). "
        f"If FGAC is on, its owner must add: PUT _plugins/_security/api/roles/{name} {role_json} and "
        f"PUT _plugins/_security/api/rolesmapping/{name} {mapping_json} "
        f"(the backend role is the ARN of {role.node.path})",
    )
