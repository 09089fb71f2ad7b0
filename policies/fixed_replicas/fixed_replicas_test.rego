package sutra.fixed_replicas

import data.sutra.lib.fixtures as f

good := f.tier_objects("medium")

test_compliant_tiers_allowed if {
	every t, _ in data.sutra.lib.k8s.config.tiers {
		objs := f.tier_objects(t)
		count(deny) == 0 with input as f.tier_input(t, objs)
	}
}

test_wrong_count_denied if {
	objs := f.patch(good, "Deployment", "sutra-control", [{"op": "replace", "path": "/spec/replicas", "value": 1}])
	some v in deny with input as f.tier_input("medium", objs)
	v.msg == "Deployment sutra-control has spec.replicas 1: the medium tier runs it at 2, set spec.replicas: 2"
}

test_unset_count_denied if {
	objs := f.patch(good, "Deployment", "sutra-control", [{"op": "remove", "path": "/spec/replicas"}])
	some v in deny with input as f.tier_input("medium", objs)
	contains(v.msg, "spec.replicas unset")
}

test_autoscaled_not_checked if {
	objs := good
	count([v | some v in deny; v.name == "sutra-api"]) == 0 with input as f.tier_input("medium", objs)
}
