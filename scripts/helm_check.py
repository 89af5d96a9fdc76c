#!/usr/bin/env python3
"""Validates the Helm chart offline with Helm's own engine (helm-python-sdk).

For every helm/zendesk-sso-bridge/ci/*-values.yaml scenario:
  1. the values (merged with the chart's defaults) against values.schema.json;
  2. `helm lint --strict` for a pinned Kubernetes version;
  3. `helm template`, then every rendered manifest against that version's Kubernetes JSON
     schemas with kubernetes-validate --strict (ServiceMonitor, a CRD, against its own
     minimal schema);
  4. the scenario's own promises (e.g. no `replicas:` when the HPA is on).
Every helm/broken-values/*.yaml must FAIL, with the message named on its `# expect:` line.
Exit code 0 only if all of that holds.
"""

import glob
import os
import subprocess
import sys

import helm_python as helm
import jsonschema
import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.33.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHART = os.path.join(ROOT, "helm", "zendesk-sso-bridge")
RELEASE, NAMESPACE = "bridge", "sso"
FULLNAME = "bridge-zendesk-sso-bridge"

SERVICE_MONITOR_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "properties": {
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "object", "required": ["port"]},
                }
            },
        },
    },
}


class Failure(Exception):
    pass


def load_values(path):
    with open(path) as f:
        return yaml.safe_load(f) or {}


def render(chart, values):
    """Schema, lint and render; returns {kind/name: manifest}."""
    with open(os.path.join(CHART, "values.schema.json")) as f:
        schema = yaml.safe_load(f)
    try:
        jsonschema.validate(chart.merge_values(values), schema)
    except jsonschema.ValidationError as e:
        path = "/".join(str(p) for p in e.absolute_path)
        raise Failure(f"values.schema.json: {path or '(top)'}: {e.message}")
    report = helm.lint(CHART, values, strict=True, kube_version=f"v{KUBERNETES_VERSION}")
    problems = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2]
    problems += [{"path": "", "error": e} for e in report.get("errors", [])]
    if problems:
        raise Failure("helm lint: " + "; ".join(f"{m['path']}: {m['error']}" for m in problems))
    try:
        rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    except helm.HelmError as e:
        raise Failure(f"helm template: {e}")
    manifests = {}
    for template, text in rendered.items():
        if template.endswith("NOTES.txt"):
            manifests["NOTES"] = text
            continue
        for doc in yaml.safe_load_all(text):
            if not doc:
                continue
            kind = doc.get("kind")
            name = doc.get("metadata", {}).get("name")
            if kind in ("PrometheusRule", "HTTPRoute"):
                # Custom resources without a schema here: their shape is checked per scenario.
                expect(doc.get("apiVersion") and doc.get("spec"), f"{template}: {kind} without spec")
            elif kind == "ServiceMonitor":
                try:
                    jsonschema.validate(doc, SERVICE_MONITOR_SCHEMA)
                except jsonschema.ValidationError as e:
                    raise Failure(f"{template}: ServiceMonitor: {e.message}")
            else:
                try:
                    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
                except kubernetes_validate.ValidationError as e:
                    path = "/".join(str(p) for p in e.path)
                    raise Failure(f"{template}: {kind} {name}: {path}: {e.message}")
            manifests[f"{kind}/{name}"] = doc
    return manifests


def container(manifests):
    return manifests[f"Deployment/{FULLNAME}"]["spec"]["template"]["spec"]["containers"][0]


def env_names(manifests):
    return {e["name"] for e in container(manifests).get("env", [])}


def expect(condition, message):
    if not condition:
        raise Failure(message)


def check_common(m):
    pod = m[f"Deployment/{FULLNAME}"]["spec"]["template"]
    c = container(m)
    sc = c["securityContext"]
    expect(sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"], "hardened container")
    expect(sc["capabilities"]["drop"] == ["ALL"], "capabilities dropped")
    expect(pod["spec"]["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", "seccomp")
    expect(c["livenessProbe"]["httpGet"]["path"] == "/healthz", "liveness on /healthz")
    expect(c["readinessProbe"]["httpGet"]["path"] == "/readyz", "readiness on /readyz")
    expect(f"Pod/{FULLNAME}-smoke-test" in m, "a helm test pod")
    selector = m[f"Service/{FULLNAME}"]["spec"]["selector"]
    test_labels = m[f"Pod/{FULLNAME}-smoke-test"]["metadata"]["labels"]
    expect(any(test_labels.get(k) != v for k, v in selector.items()), "the Service must not select the test pod")
    listen = [e for e in c.get("env", []) if e["name"] == "LISTEN_ADDR"]
    expect(c["args"][0] == "demo" or (len(listen) == 1 and listen[0]["value"].endswith(":8080")), "LISTEN_ADDR from containerPort")
    expect(pod["spec"].get("topologySpreadConstraints"), "pods spread over nodes by default")


def check_minimal(m):
    expect(not any(k.startswith("CronJob/") for k in m), "no sync unless asked for")
    annotations = m[f"Deployment/{FULLNAME}"]["spec"]["template"]["metadata"]["annotations"]
    expect({"checksum/config", "checksum/secret"} <= set(annotations), "pods roll on config change")
    expect(m[f"Deployment/{FULLNAME}"]["spec"]["replicas"] == 2, "replicas")
    expect(f"PodDisruptionBudget/{FULLNAME}" in m, "PDB with two replicas")
    expect(f"Secret/{FULLNAME}" in m, "rendered Secret")
    expect({"SESSION_KEY", "ZENDESK_JWT_SECRET", "ZENDESK_API_OAUTH_TOKEN"} <= env_names(m), "secrets by secretKeyRef")
    expect("SESSION_KEY" not in m[f"ConfigMap/{FULLNAME}"]["data"], "no secret in the ConfigMap")
    expect(env_value(m, "DEPLOYMENT_REPLICAS") == "2", "the bridge knows it has two replicas")
    expect("WARNING: 2 replicas and no Redis" in m["NOTES"], "NOTES warns: two replicas, no Redis")


def env_value(m, name):
    return next((e.get("value") for e in container(m)["env"] if e["name"] == name), None)


def check_external_redis(m):
    redis = next(e for e in container(m)["env"] if e["name"] == "REDIS_URL")
    ref = redis["valueFrom"]["secretKeyRef"]
    expect((ref["name"], ref["key"]) == ("managed-redis", "url"), f"REDIS_URL from the Secret, got {ref}")
    expect(env_value(m, "DEPLOYMENT_REPLICAS") == "3", "replicas passed on")
    expect("no Redis" not in m["NOTES"], "no Redis warning with externalRedis")
    expect(m[f"ConfigMap/{FULLNAME}"]["data"]["SYNC_INTERVAL_SECS"] == "1800", "the in-process sync with Redis")


def check_existing_secret(m):
    expect(f"Secret/{FULLNAME}" not in m, "no Secret rendered with existingSecret")
    cron = m[f"CronJob/{FULLNAME}-sync"]["spec"]
    expect(cron["schedule"] == "5 * * * *" and cron["concurrencyPolicy"] == "Forbid", "the sync, one run at a time")
    job = cron["jobTemplate"]["spec"]["template"]
    sync = job["spec"]["containers"][0]
    expect(sync["args"] == ["sync", "--apply"], f"the sync applies, got {sync['args']}")
    expect(sync["env"] == [e for e in container(m)["env"] if e["name"] not in ("LISTEN_ADDR", "METRICS_ADDR", "DEPLOYMENT_REPLICAS")], f"the sync reads the bridge's Secret: {sync['env']}")
    expect(sync["envFrom"] == container(m)["envFrom"], "the sync reads the bridge's ConfigMap")
    expect(sync["securityContext"]["readOnlyRootFilesystem"], "the sync container is hardened")
    selector = m[f"Service/{FULLNAME}"]["spec"]["selector"]
    labels = job["metadata"]["labels"]
    expect(any(labels.get(k) != v for k, v in selector.items()), "the Service must not select the sync's pods")
    expect(f"PodDisruptionBudget/{FULLNAME}" not in m, "no PDB with one replica")
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in container(m)["env"] if "valueFrom" in e}
    expect(refs == {"zendesk-sso-bridge-credentials"}, f"secretKeyRef to the existing Secret, got {refs}")


def check_autoscaling(m):
    expect("replicas" not in m[f"Deployment/{FULLNAME}"]["spec"], "no replicas: when the HPA is on")
    expect(m[f"HorizontalPodAutoscaler/{FULLNAME}"]["spec"]["minReplicas"] == 3, "HPA")
    expect(f"PodDisruptionBudget/{FULLNAME}" in m, "PDB from minReplicas")
    expect("startupProbe" in container(m), "startup probe")


def check_ingress(m):
    ingress = m[f"Ingress/{FULLNAME}"]
    expect(ingress["spec"]["tls"][0]["secretName"] == "sso-example-org-tls", "TLS")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]
    expect(backend.get("number") == 8080 or backend.get("name") == "http", f"the Ingress publishes http only, got {backend}")
    monitor = m[f"ServiceMonitor/{FULLNAME}"]["spec"]["endpoints"][0]
    expect(monitor["port"] == "metrics", "ServiceMonitor scrapes the metrics port")
    ports = {p["name"] for p in m[f"Service/{FULLNAME}"]["spec"]["ports"]}
    expect(ports == {"http", "metrics"}, f"Service ports {ports}")
    expect(env_value(m, "METRICS_ADDR") == "0.0.0.0:9090", "METRICS_ADDR")
    expect("TRUSTED_PROXIES is empty" not in m["NOTES"], "no warning with TRUSTED_PROXIES set")


def check_gateway(m):
    route = m[f"HTTPRoute/{FULLNAME}"]["spec"]
    expect(route["parentRefs"][0]["name"] == "public", "parentRefs")
    expect(route["rules"][0]["backendRefs"][0]["port"] == 8080, "the route publishes http only")
    rule = m[f"PrometheusRule/{FULLNAME}"]["spec"]["groups"][0]["rules"]
    expect(all(r["labels"]["team"] == "membership" for r in rule), "alert labels")
    expect(m[f"ServiceMonitor/{FULLNAME}"]["metadata"]["namespace"] == "monitoring", "monitor namespace")
    c = container(m)
    expect(c["image"].endswith("@sha256:" + "0123456789abcdef" * 4), "image by digest")
    expect(any(e["name"] == "SESSION_KEY_FILE" for e in c["env"]), "extraEnv")
    expect({"secretRef": {"name": "bridge-extra-settings"}} in c["envFrom"], "envFrom")
    expect(m[f"ConfigMap/{FULLNAME}"]["data"]["THROTTLE_WINDOW_SECS"] == "1200", "numbers accepted")
    expect("IMIS_TIMEOUT_MS" not in m[f"ConfigMap/{FULLNAME}"]["data"], "empty means unset")
    expect(m[f"Service/{FULLNAME}"]["spec"]["ports"][0]["nodePort"] == 30443, "nodePort")
    expect("TRUSTED_PROXIES is empty" in m["NOTES"], "NOTES warns: TRUSTED_PROXIES empty behind a gateway")


def check_network_policy(m):
    policy = m[f"NetworkPolicy/{FULLNAME}"]["spec"]
    expect(set(policy["policyTypes"]) == {"Ingress", "Egress"}, "both directions")
    peers = [p for rule in policy["ingress"] for p in rule.get("from", [])]
    test = m[f"Pod/{FULLNAME}-smoke-test"]["metadata"]["labels"]
    expect(any(p.get("podSelector", {}).get("matchLabels", {}).items() <= test.items()
               and p.get("podSelector") for p in peers), "the helm test pod is allowed in")
    expect(any(r["ports"][0]["port"] == "metrics" for r in policy["ingress"]), "a rule for the metrics scraper")


def check_demo(m):
    c = container(m)
    expect(c["args"][0] == "demo", "demo command")
    expect(m[f"Deployment/{FULLNAME}"]["spec"]["replicas"] == 1, "demo mode runs one replica")
    expect(f"Secret/{FULLNAME}" not in m and f"ConfigMap/{FULLNAME}" not in m, "no settings in demo")
    smoke = m[f"Pod/{FULLNAME}-smoke-test"]["spec"]["containers"][0]["args"]
    expect("--demo" in smoke, "the helm test signs a demo member in")


SCENARIOS = {
    "minimal": check_minimal,
    "existing-secret": check_existing_secret,
    "autoscaling": check_autoscaling,
    "ingress-tls": check_ingress,
    "network-policy": check_network_policy,
    "demo": check_demo,
    "external-redis": check_external_redis,
    "gateway": check_gateway,
}


def main():
    helm.disable_logging()
    readme = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "chart_readme.py"), "--check"])
    if readme.returncode != 0:
        print("FAIL  chart README")
        sys.exit(1)
    chart = helm.Chart.load(CHART)
    failures = 0
    scenarios = sorted(glob.glob(os.path.join(CHART, "ci", "*-values.yaml")))
    seen = set()
    for path in scenarios:
        scenario = os.path.basename(path)[: -len("-values.yaml")]
        seen.add(scenario)
        try:
            manifests = render(chart, load_values(path))
            check_common(manifests)
            SCENARIOS.get(scenario, lambda m: None)(manifests)
            print(f"ok    {scenario}: {len(manifests)} manifests valid for Kubernetes {KUBERNETES_VERSION}")
        except (Failure, KeyError) as e:
            failures += 1
            print(f"FAIL  {scenario}: {e}")
    for missing in sorted(set(SCENARIOS) - seen):
        failures += 1
        print(f"FAIL  {missing}: scenario file ci/{missing}-values.yaml is missing")

    broken = sorted(glob.glob(os.path.join(ROOT, "helm", "broken-values", "*.yaml")))
    if not broken:
        failures += 1
        print("FAIL  no broken values files: CI must prove that a broken chart fails")
    for path in broken:
        name = os.path.basename(path)
        with open(path) as f:
            first = f.readline()
        expected = first.split("# expect:", 1)[1].strip() if "# expect:" in first else None
        try:
            render(chart, load_values(path))
            failures += 1
            print(f"FAIL  {name}: rendered and validated, but it is broken on purpose")
        except Failure as e:
            if expected and expected not in str(e):
                failures += 1
                print(f"FAIL  {name}: failed for another reason than `{expected}`: {e}")
            else:
                print(f"ok    {name}: refused as expected ({str(e).splitlines()[0][:110]})")
    print(f"{len(scenarios)} scenarios, {len(broken)} broken files, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
