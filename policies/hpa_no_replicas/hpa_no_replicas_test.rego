package sutra.hpa_no_replicas

import data.sutra.lib.fixtures as f

good := f.tier_objects("low")

test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_replicas_on_autoscaled_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "add", "path": "/spec/replicas", "value": 3}])
	some v in deny with input as f.tier_input("low", objs)
	v.msg == "Deployment sutra-api is autoscaled but sets spec.replicas 3: remove spec.replicas (the HorizontalPodAutoscaler owns it)"
}

test_replicas_on_table_autoscaled_without_hpa_denied if {
	objs := f.patch(f.without(good, "HorizontalPodAutoscaler", "sutra-client"), "Deployment", "sutra-client", [{"op": "add", "path": "/spec/replicas", "value": 2}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_replicas_on_fixed_allowed if {
	objs := f.patch(good, "Deployment", "sutra-control", [{"op": "replace", "path": "/spec/replicas", "value": 1}])
	count(deny) == 0 with input as f.tier_input("low", objs)
}
