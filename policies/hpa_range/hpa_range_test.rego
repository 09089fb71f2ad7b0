package sutra.hpa_range

import data.sutra.lib.fixtures as f

good := f.tier_objects("medium")

test_compliant_tiers_allowed if {
	every t, _ in data.sutra.lib.k8s.config.tiers {
		objs := f.tier_objects(t)
		count(deny) == 0 with input as f.tier_input(t, objs)
	}
}

test_max_off_table_denied if {
	objs := f.patch(good, "HorizontalPodAutoscaler", "sutra-api", [{"op": "replace", "path": "/spec/maxReplicas", "value": 40}])
	some v in deny with input as f.tier_input("medium", objs)
	v.name == "sutra-api"
	contains(v.msg, "minReplicas 10 and maxReplicas 25")
}

test_other_tier_range_denied if {
	# the low tier's HPAs are wrong for the high tier
	objs := f.tier_objects("low")
	count(deny) == 3 with input as f.tier_input("high", objs)
}

test_min_above_max_denied if {
	objs := f.patch(good, "HorizontalPodAutoscaler", "sutra-hybrid", [{"op": "replace", "path": "/spec/minReplicas", "value": 50}])
	some v in deny with input as f.tier_input("medium", objs)
	contains(v.msg, "above maxReplicas")
}

test_missing_target_denied if {
	objs := f.without(good, "Deployment", "sutra-client")
	some v in deny with input as f.tier_input("medium", objs)
	v.kind == "HorizontalPodAutoscaler"
	contains(v.msg, "not in this tier")
}

test_missing_hpa_denied if {
	objs := f.without(good, "HorizontalPodAutoscaler", "sutra-api")
	some v in deny with input as f.tier_input("medium", objs)
	v.kind == "Deployment"
	contains(v.msg, "has no HorizontalPodAutoscaler")
}

test_hpa_on_fixed_workload_denied if {
	h := json.patch(f.hpa("sutra-api", {"kind": "Deployment"}, "medium"), [
		{"op": "replace", "path": "/metadata/name", "value": "sutra-control"},
		{"op": "replace", "path": "/spec/scaleTargetRef/name", "value": "sutra-control"},
	])
	objs := array.concat(good, [h])
	some v in deny with input as f.tier_input("medium", objs)
	contains(v.msg, "fixed 2 replicas")
}

test_two_hpas_denied if {
	h := json.patch(f.hpa("sutra-api", {"kind": "Deployment"}, "medium"), [{"op": "replace", "path": "/metadata/name", "value": "api-2"}])
	objs := array.concat(good, [h])
	some v in deny with input as f.tier_input("medium", objs)
	contains(v.msg, "several HorizontalPodAutoscalers (api-2, sutra-api)")
}
