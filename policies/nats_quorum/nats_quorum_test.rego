package sutra.nats_quorum

import data.sutra.lib.fixtures as f
import data.sutra.lib.k8s

# A tier of the table that runs the log (none is named here: the table says which).
replicated_tier := [t | some t, row in k8s.config.tiers; row.workloads[log]][0]

plain_tier := [t | some t, row in k8s.config.tiers; not row.workloads[log]][0]

good := f.tier_objects(replicated_tier)

test_compliant_tier_allowed if {
	t := replicated_tier
	objs := good
	count(deny) == 0 with input as f.tier_input(t, objs)
}

test_tier_without_log_allowed if {
	p := plain_tier
	objs := f.tier_objects(p)
	count(deny) == 0 with input as f.tier_input(p, objs)
}

test_two_servers_denied if {
	t := replicated_tier
	objs := f.patch(good, "StatefulSet", log, [{"op": "replace", "path": "/spec/replicas", "value": 2}])
	some v in deny with input as f.tier_input(t, objs)
	contains(v.msg, "at least 3")
}

test_four_servers_denied if {
	t := replicated_tier
	objs := f.patch(good, "StatefulSet", log, [{"op": "replace", "path": "/spec/replicas", "value": 4}])
	some v in deny with input as f.tier_input(t, objs)
	contains(v.msg, "even count")
}

test_five_servers_allowed if {
	t := replicated_tier
	objs := f.patch(good, "StatefulSet", log, [{"op": "replace", "path": "/spec/replicas", "value": 5}])
	count(deny) == 0 with input as f.tier_input(t, objs)
}

test_missing_budget_denied if {
	t := replicated_tier
	objs := f.without(good, "PodDisruptionBudget", log)
	some v in deny with input as f.tier_input(t, objs)
	contains(v.msg, "no PodDisruptionBudget")
}

test_budget_min_available_two_allowed if {
	t := replicated_tier
	objs := f.patch(good, "PodDisruptionBudget", log, [
		{"op": "remove", "path": "/spec/maxUnavailable"},
		{"op": "add", "path": "/spec/minAvailable", "value": 2},
	])
	count(deny) == 0 with input as f.tier_input(t, objs)
}

test_budget_min_available_one_denied if {
	t := replicated_tier
	objs := f.patch(good, "PodDisruptionBudget", log, [
		{"op": "remove", "path": "/spec/maxUnavailable"},
		{"op": "add", "path": "/spec/minAvailable", "value": 1},
	])
	some v in deny with input as f.tier_input(t, objs)
	v.kind == "PodDisruptionBudget"
	contains(v.msg, "minAvailable: 2")
}

test_budget_max_unavailable_two_denied if {
	t := replicated_tier
	objs := f.patch(good, "PodDisruptionBudget", log, [{"op": "replace", "path": "/spec/maxUnavailable", "value": 2}])
	some v in deny with input as f.tier_input(t, objs)
	v.kind == "PodDisruptionBudget"
}

test_budget_percentage_denied if {
	t := replicated_tier
	objs := f.patch(good, "PodDisruptionBudget", log, [
		{"op": "remove", "path": "/spec/maxUnavailable"},
		{"op": "add", "path": "/spec/minAvailable", "value": "51%"},
	])
	some v in deny with input as f.tier_input(t, objs)
	contains(v.msg, "an integer")
}

test_no_anti_affinity_denied if {
	t := replicated_tier
	objs := f.patch(good, "StatefulSet", log, [{"op": "remove", "path": "/spec/template/spec/affinity"}])
	some v in deny with input as f.tier_input(t, objs)
	contains(v.msg, "anti-affinity")
}

test_anti_affinity_on_zone_only_denied if {
	t := replicated_tier
	objs := f.patch(good, "StatefulSet", log, [{
		"op": "replace",
		"path": "/spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/0/topologyKey",
		"value": "topology.kubernetes.io/zone",
	}])
	some v in deny with input as f.tier_input(t, objs)
	contains(v.msg, "anti-affinity")
}
