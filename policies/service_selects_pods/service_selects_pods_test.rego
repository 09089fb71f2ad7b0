package sutra.service_selects_pods

import data.sutra.lib.fixtures as f

good := f.tier_objects("low")

test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_selector_without_pods_denied if {
	objs := f.patch(good, "Service", "sutra-api", [{"op": "replace", "path": "/spec/selector", "value": {"app": "sutra-api"}}])
	some v in deny with input as f.tier_input("low", objs)
	v.name == "sutra-api"
	contains(v.msg, "Service sutra-api selects")
}

test_partial_label_match_denied if {
	objs := f.patch(good, "Service", "sutra-api", [{"op": "add", "path": "/spec/selector/tier", "value": "web"}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_other_namespace_denied if {
	objs := f.patch(good, "Service", "sutra-api", [{"op": "replace", "path": "/metadata/namespace", "value": "elsewhere"}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_selectorless_service_allowed if {
	objs := f.patch(good, "Service", "sutra-api", [{"op": "remove", "path": "/spec/selector"}])
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_wrong_target_port_denied if {
	objs := f.patch(good, "Service", "sutra-hybrid", [{"op": "replace", "path": "/spec/ports/0/targetPort", "value": 9999}])
	some v in deny with input as f.tier_input("low", objs)
	v.msg == "Service sutra-hybrid sends port 8001 to targetPort 9999, which its pods (sutra-hybrid) do not declare: fix targetPort or add the containerPort"
}

test_named_target_port_allowed if {
	objs := f.patch(good, "Service", "sutra-hybrid", [{"op": "replace", "path": "/spec/ports/0/targetPort", "value": "main"}])
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_default_target_port_is_port if {
	objs := f.patch(good, "Service", "sutra-hybrid", [
		{"op": "remove", "path": "/spec/ports/0/targetPort"},
		{"op": "replace", "path": "/spec/ports/0/port", "value": 80},
	])
	count(deny) == 1 with input as f.tier_input("low", objs)
}
