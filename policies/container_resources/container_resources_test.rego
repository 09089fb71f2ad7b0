package sutra.container_resources

import data.sutra.lib.fixtures as f

good := f.tier_objects("low")

res := "/spec/template/spec/containers/0/resources"

test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_missing_memory_limit_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "remove", "path": concat("", [res, "/limits/memory"])}])
	some v in deny with input as f.tier_input("low", objs)
	v.msg == "container sutra-api of Deployment sutra-api has no memory limits: set resources.limits.memory"
}

test_missing_resources_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "remove", "path": res}])
	count(deny) == 4 with input as f.tier_input("low", objs)
}

test_limit_below_request_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "replace", "path": concat("", [res, "/limits/cpu"]), "value": "100m"}])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "below its request 250m")
}

test_mixed_units_compared_allowed if {
	objs := f.patch(good, "Deployment", "sutra-api", [
		{"op": "replace", "path": concat("", [res, "/requests/cpu"]), "value": 0.5},
		{"op": "replace", "path": concat("", [res, "/limits/cpu"]), "value": "500m"},
		{"op": "replace", "path": concat("", [res, "/requests/memory"]), "value": "1G"},
		{"op": "replace", "path": concat("", [res, "/limits/memory"]), "value": "1Gi"},
	])
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_gi_below_g_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [
		{"op": "replace", "path": concat("", [res, "/requests/memory"]), "value": "1Gi"},
		{"op": "replace", "path": concat("", [res, "/limits/memory"]), "value": "1G"},
	])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_bad_quantity_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "replace", "path": concat("", [res, "/limits/memory"]), "value": "lots"}])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "not a quantity")
}

test_init_container_checked if {
	objs := f.patch(good, "StatefulSet", "storage-server", [{
		"op": "add", "path": "/spec/template/spec/initContainers",
		"value": [{"name": "init", "image": "busybox:1.36"}],
	}])
	count(deny) == 4 with input as f.tier_input("low", objs)
}

test_cronjob_checked if {
	objs := f.patch(good, "CronJob", "storage-snapshot", [{
		"op": "remove", "path": "/spec/jobTemplate/spec/template/spec/containers/0/resources/requests",
	}])
	count(deny) == 2 with input as f.tier_input("low", objs)
}
