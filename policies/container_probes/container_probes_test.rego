package sutra.container_probes

import data.sutra.lib.fixtures as f

good := f.tier_objects("low")

test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_missing_readiness_denied if {
	objs := f.patch(good, "Deployment", "sutra-hybrid", [{"op": "remove", "path": "/spec/template/spec/containers/0/readinessProbe"}])
	some v in deny with input as f.tier_input("low", objs)
	v.name == "sutra-hybrid"
	contains(v.msg, "container sutra-hybrid of Deployment sutra-hybrid has no readinessProbe")
}

test_missing_liveness_on_statefulset_denied if {
	objs := f.patch(good, "StatefulSet", "storage-server", [{"op": "remove", "path": "/spec/template/spec/containers/0/livenessProbe"}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_sidecar_without_probes_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "side", "image": "x:1"}}])
	count(deny) == 2 with input as f.tier_input("low", objs)
}

test_cronjob_and_init_exempt if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "add", "path": "/spec/template/spec/initContainers", "value": [{"name": "init", "image": "x:1"}]}])
	count(deny) == 0 with input as f.tier_input("low", objs)
}
