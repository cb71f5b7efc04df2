"""moto quirk: the AWS provider sleeps a fixed ten minutes after creating and after deleting an OpenSearch
domain. These helpers let ``books_local.terragrunt`` create a planned domain with boto3 from the plan's
values (then import it) and delete one from the state's values, skipping those sleeps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def module_resources(module: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = list(module.get("resources", []))
    for child in module.get("child_modules", []):
        found.extend(module_resources(child))
    return found


def _first(blocks: Any) -> dict[str, Any]:
    return (blocks or [{}])[0] or {}


def create_domain_request(after: Mapping[str, Any]) -> dict[str, Any]:
    """CreateDomain arguments from an aws_opensearch_domain's planned values (what is known at plan time;
    the apply after the import sets the rest)."""
    cluster, ebs = _first(after.get("cluster_config")), _first(after.get("ebs_options"))
    endpoint = _first(after.get("domain_endpoint_options"))
    request: dict[str, Any] = {
        "DomainName": after["domain_name"],
        "EngineVersion": after.get("engine_version") or "OpenSearch_2.19",
        "ClusterConfig": {
            "InstanceType": cluster.get("instance_type") or "t3.small.search",
            "InstanceCount": cluster.get("instance_count") or 1,
            "ZoneAwarenessEnabled": bool(cluster.get("zone_awareness_enabled")),
        },
        "EBSOptions": {
            "EBSEnabled": bool(ebs.get("ebs_enabled", True)),
            "VolumeType": ebs.get("volume_type") or "gp3",
            "VolumeSize": ebs.get("volume_size") or 10,
        },
        "EncryptionAtRestOptions": {"Enabled": bool(_first(after.get("encrypt_at_rest")).get("enabled"))},
        "NodeToNodeEncryptionOptions": {
            "Enabled": bool(_first(after.get("node_to_node_encryption")).get("enabled"))
        },
        "DomainEndpointOptions": {
            "EnforceHTTPS": bool(endpoint.get("enforce_https")),
            "TLSSecurityPolicy": endpoint.get("tls_security_policy") or "Policy-Min-TLS-1-2-2019-07",
        },
        "TagList": [{"Key": k, "Value": v} for k, v in sorted((after.get("tags_all") or {}).items())],
    }
    if isinstance(after.get("access_policies"), str):
        request["AccessPolicies"] = after["access_policies"]
    return request
