package sutra.network_policy_coverage

import data.sutra.lib.fixtures as f

good := f.tier_objects("low")

test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_missing_default_deny_denied if {
	objs := f.without(good, "NetworkPolicy", "default-deny")
	some v in deny with input as f.tier_input("low", objs)
	v.name == "default-deny"
}

test_catch_all_allow_is_not_a_default_deny if {
	objs := f.patch(good, "NetworkPolicy", "default-deny", [{"op": "add", "path": "/spec/ingress", "value": [{}]}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_egress_only_policy_is_not_a_default_deny if {
	objs := f.patch(good, "NetworkPolicy", "default-deny", [{"op": "replace", "path": "/spec/policyTypes", "value": ["Egress"]}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_uncovered_workload_denied if {
	objs := f.without(good, "NetworkPolicy", "sutra-hybrid")
	some v in deny with input as f.tier_input("low", objs)
	v.msg == "no NetworkPolicy selects the pods of Deployment sutra-hybrid: add one whose podSelector matches its pod labels and lists the traffic it needs"
}

test_uncovered_cronjob_denied if {
	objs := f.without(good, "NetworkPolicy", "storage-snapshot")
	some v in deny with input as f.tier_input("low", objs)
	v.kind == "CronJob"
}

test_other_namespace_does_not_cover if {
	objs := f.patch(good, "NetworkPolicy", "sutra-api", [{"op": "replace", "path": "/metadata/namespace", "value": "other"}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_expression_selector_covers if {
	objs := f.patch(good, "NetworkPolicy", "sutra-api", [{
		"op": "replace", "path": "/spec/podSelector",
		"value": {"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In", "values": ["sutra-api", "x"]}]},
	}])
	count(deny) == 0 with input as f.tier_input("low", objs)
}
