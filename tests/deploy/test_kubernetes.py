"""The kustomizations render (real kustomize) into valid Kubernetes objects (kubernetes-validate,
strict: an unknown field fails too), wired the way the services need."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.artifacts import (
    KUSTOMIZATIONS,
    SERVICE_SETTINGS,
    containers,
    kustomize,
    settings_variables,
    topics,
)

KUBERNETES_VERSION = "1.33.0"
SECRET_NAME = "initiatives-secrets"
INPUT_TOPIC = {
    "initiatives-ingest": "portal.submissions.v1",
    "initiatives-projector": ("initiatives.events.v1"),
    "initiatives-notifier": "progress.changes.v1",
}


@pytest.fixture(scope="module", params=list(KUSTOMIZATIONS))
def manifests(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return kustomize(KUSTOMIZATIONS[request.param])


def of_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def test_every_object_is_valid_kubernetes(manifests: list[dict[str, Any]]) -> None:
    errors = []
    for manifest in manifests:
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{manifest['kind']}/{manifest['metadata']['name']}: {error.message}")
    assert not errors
    kinds = {m["kind"] for m in manifests}
    assert kinds == {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "Job"}


def test_the_validator_refuses_what_kubernetes_would_refuse() -> None:
    """A misspelt field must fail: the check above is worth only as much as this."""
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}
    with pytest.raises(kubernetes_validate.ValidationError, match="'portz' was unexpected"):
        kubernetes_validate.validate(
            {**service, "spec": {"portz": []}}, KUBERNETES_VERSION, strict=True
        )


def test_each_service_is_a_probed_deployment_with_requests(
    manifests: list[dict[str, Any]],
) -> None:
    deployments = of_kind(manifests, "Deployment")
    assert set(deployments) == {f"initiatives-{name}" for name in SERVICE_SETTINGS}
    for name, container in containers(manifests, "Deployment"):
        service = name.removeprefix("initiatives-")
        assert container["args"] == [service]
        port = SERVICE_SETTINGS[service].model_fields["http_port"].default
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        pod = deployments[name]["spec"]["template"]
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)


def test_every_deployment_has_a_disruption_budget_that_selects_it(
    manifests: list[dict[str, Any]],
) -> None:
    budgets = of_kind(manifests, "PodDisruptionBudget")
    for name, deployment in of_kind(manifests, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = budgets[name]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items(), name


def test_the_migration_job_runs_migrate_once(manifests: list[dict[str, Any]]) -> None:
    job = of_kind(manifests, "Job")["initiatives-migrate"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_secrets_are_referenced_never_written(manifests: list[dict[str, Any]]) -> None:
    assert not of_kind(manifests, "Secret")
    for kind in ("Deployment", "Job"):
        for _, container in containers(manifests, kind):
            for variable in container.get("env", []):
                source = variable.get("valueFrom", {})
                assert "value" not in variable, f"{variable['name']} has a literal value"
                assert source["secretKeyRef"]["name"] == SECRET_NAME
                assert source["secretKeyRef"]["key"] == variable["name"]


def test_every_variable_given_to_a_container_is_one_it_reads(
    manifests: list[dict[str, Any]],
) -> None:
    (config,) = of_kind(manifests, "ConfigMap").values()
    shared = set(config["data"])
    for kind in ("Deployment", "Job"):
        for _, container in containers(manifests, kind):
            command = container["args"][0]
            own = {variable["name"] for variable in container.get("env", [])}
            unknown = own - settings_variables(command)
            assert not unknown, f"{command} does not read {sorted(unknown)}"
    readers = set().union(*(settings_variables(command) for command in SERVICE_SETTINGS))
    assert shared <= readers, f"no service reads {sorted(shared - readers)}"


def test_consumers_never_outnumber_their_topic_s_partitions(
    manifests: list[dict[str, Any]],
) -> None:
    partitions = {topic.name: topic.partitions for topic in topics()}
    for name, deployment in of_kind(manifests, "Deployment").items():
        if name in INPUT_TOPIC:
            assert deployment["spec"]["replicas"] <= partitions[INPUT_TOPIC[name]], name
