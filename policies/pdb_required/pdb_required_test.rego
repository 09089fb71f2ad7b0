package sutra.pdb_required

import data.sutra.lib.fixtures as f

good := f.tier_objects("medium")

test_compliant_tiers_allowed if {
	every t, _ in data.sutra.lib.k8s.config.tiers {
		objs := f.tier_objects(t)
		count(deny) == 0 with input as f.tier_input(t, objs)
	}
}

test_missing_pdb_for_autoscaled_denied if {
	objs := f.without(good, "PodDisruptionBudget", "sutra-api")
	some v in deny with input as f.tier_input("medium", objs)
	v.msg == "Deployment sutra-api can run 25 pods but no PodDisruptionBudget selects them: add one (maxUnavailable: 1) whose selector matches its pod labels"
}

test_missing_pdb_for_fixed_two_denied if {
	objs := f.without(good, "PodDisruptionBudget", "sutra-control")
	some v in deny with input as f.tier_input("medium", objs)
	v.name == "sutra-control"
}

test_single_replica_needs_none if {
	# in the low tier sutra-control runs one pod and has no budget
	objs := f.tier_objects("low")
	count([o | some o in objs; o.kind == "PodDisruptionBudget"; o.metadata.name == "sutra-control"]) == 0
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_selector_mismatch_denied if {
	objs := f.patch(good, "PodDisruptionBudget", "sutra-api", [{
		"op": "replace", "path": "/spec/selector/matchLabels/app.kubernetes.io~1name", "value": "api",
	}])
	count(deny) == 1 with input as f.tier_input("medium", objs)
}

test_empty_selector_denied if {
	objs := f.patch(good, "PodDisruptionBudget", "sutra-api", [{"op": "replace", "path": "/spec/selector", "value": {}}])
	count(deny) == 1 with input as f.tier_input("medium", objs)
}

test_min_available_equal_to_min_denied if {
	objs := f.patch(good, "PodDisruptionBudget", "sutra-control", [
		{"op": "remove", "path": "/spec/maxUnavailable"},
		{"op": "add", "path": "/spec/minAvailable", "value": 2},
	])
	some v in deny with input as f.tier_input("medium", objs)
	v.kind == "PodDisruptionBudget"
	contains(v.msg, "allows no eviction of Deployment sutra-control")
}

test_min_available_below_min_allowed if {
	objs := f.patch(good, "PodDisruptionBudget", "sutra-api", [
		{"op": "remove", "path": "/spec/maxUnavailable"},
		{"op": "add", "path": "/spec/minAvailable", "value": 5},
	])
	count(deny) == 0 with input as f.tier_input("medium", objs)
}

test_max_unavailable_zero_denied if {
	objs := f.patch(good, "PodDisruptionBudget", "sutra-api", [{"op": "replace", "path": "/spec/maxUnavailable", "value": 0}])
	count(deny) == 1 with input as f.tier_input("medium", objs)
}
