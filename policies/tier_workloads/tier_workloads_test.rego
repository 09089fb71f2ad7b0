package sutra.tier_workloads

import data.sutra.lib.fixtures as f

good := f.tier_objects("low")

test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_missing_workload_denied if {
	objs := f.without(good, "Deployment", "sutra-hybrid")
	some v in deny with input as f.tier_input("low", objs)
	v.msg == "Deployment sutra-hybrid is missing: the low tier runs it (tier table), add it to the overlay"
}

test_unknown_deployment_denied if {
	d := f.workload("sutra-extra", {"kind": "Deployment", "replicas": 1})
	objs := array.concat(good, [d])
	some v in deny with input as f.tier_input("low", objs)
	v.name == "sutra-extra"
}

test_wrong_kind_denied if {
	objs := f.patch(good, "Deployment", "sutra-control", [{"op": "replace", "path": "/kind", "value": "StatefulSet"}])
	count(deny) == 2 with input as f.tier_input("low", objs)
}

test_cronjob_not_in_table_allowed if {
	objs := good
	count([v | some v in deny; v.name == "storage-snapshot"]) == 0 with input as f.tier_input("low", objs)
}
