package sutra.namespace_scope

import data.sutra.lib.fixtures as f

good := f.tier_objects("medium")

namespace := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sutra-ai"}}

adapter_rules := {
	"apiVersion": "v1",
	"kind": "ConfigMap",
	"metadata": {"name": "sutra-prometheus-adapter", "namespace": "monitoring"},
	"data": {"config.yaml": "rules: []"},
}

test_compliant_tier_with_its_namespace_allowed if {
	objs := array.concat(good, [namespace])
	count(deny) == 0 with input as f.tier_input("medium", objs)
}

test_listed_object_outside_allowed if {
	objs := array.concat(good, [namespace, adapter_rules])
	count(deny) == 0 with input as f.tier_input("medium", objs)
}

test_listed_object_in_a_tier_not_listed_denied if {
	objs := array.concat(f.tier_objects("low"), [adapter_rules])
	some v in deny with input as f.tier_input("low", objs)
	v.name == "sutra-prometheus-adapter"
	startswith(v.msg, "ConfigMap sutra-prometheus-adapter is in namespace monitoring: the low tier deploys into sutra-ai only")
}

test_other_kind_with_the_listed_name_denied if {
	secret := json.patch(adapter_rules, [{"op": "replace", "path": "/kind", "value": "Secret"}])
	objs := array.concat(good, [secret])
	some v in deny with input as f.tier_input("medium", objs)
	v.kind == "Secret"
}

test_workload_in_the_monitoring_namespace_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "replace", "path": "/metadata/namespace", "value": "monitoring"}])
	count(deny) == 1 with input as f.tier_input("medium", objs)
}

test_cluster_scoped_object_denied if {
	role := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "sutra-reader"}}
	objs := array.concat(good, [role])
	some v in deny with input as f.tier_input("medium", objs)
	v.msg == "ClusterRole sutra-reader has no namespace: a tier's only cluster-scoped object is Namespace sutra-ai; give it namespace sutra-ai, or leave cluster-wide objects to the platform"
}

test_another_namespace_object_denied if {
	other := json.patch(namespace, [{"op": "replace", "path": "/metadata/name", "value": "monitoring"}])
	objs := array.concat(good, [other])
	some v in deny with input as f.tier_input("medium", objs)
	v.name == "monitoring"
}
