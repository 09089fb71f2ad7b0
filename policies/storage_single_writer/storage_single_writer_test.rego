package sutra.storage_single_writer

import data.sutra.lib.fixtures as f

good := f.tier_objects("low")

# Rule values used in `with` are bound to a local first: regorus evaluates the `with` value
# lazily, under the replaced input.
test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_missing_statefulset_denied if {
	objs := f.without(good, "StatefulSet", "storage-server")
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "is missing")
}

test_two_replicas_denied if {
	objs := f.patch(good, "StatefulSet", "storage-server", [{"op": "replace", "path": "/spec/replicas", "value": 2}])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "replicas 2")
}

test_unset_replicas_denied if {
	objs := f.patch(good, "StatefulSet", "storage-server", [{"op": "remove", "path": "/spec/replicas"}])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "replicas unset")
}

test_deployment_denied if {
	d := object.union(f.workload("storage-server", {"kind": "Deployment", "replicas": 1}), {})
	objs := array.concat(f.without(good, "StatefulSet", "storage-server"), [d])
	some v in deny with input as f.tier_input("low", objs)
	v.kind == "Deployment"
	contains(v.msg, "must not be a Deployment")
}

test_hpa_on_storage_denied if {
	h := {
		"kind": "HorizontalPodAutoscaler",
		"metadata": {"name": "storage-server", "namespace": "sutra-ai"},
		"spec": {"scaleTargetRef": {"kind": "StatefulSet", "name": "storage-server"}, "maxReplicas": 3},
	}
	objs := array.concat(good, [h])
	some v in deny with input as f.tier_input("low", objs)
	v.kind == "HorizontalPodAutoscaler"
}

test_small_volume_denied if {
	objs := f.patch(good, "StatefulSet", "storage-server", [{
		"op": "replace", "path": "/spec/volumeClaimTemplates/0/spec/resources/requests/storage", "value": "10Gi",
	}])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "volumeClaimTemplate")
}

test_bigger_volume_allowed if {
	objs := f.patch(good, "StatefulSet", "storage-server", [{
		"op": "replace", "path": "/spec/volumeClaimTemplates/0/spec/resources/requests/storage", "value": "200Gi",
	}])
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_read_write_many_denied if {
	objs := f.patch(good, "StatefulSet", "storage-server", [{
		"op": "replace", "path": "/spec/volumeClaimTemplates/0/spec/accessModes", "value": ["ReadWriteMany"],
	}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_unmounted_claim_denied if {
	objs := f.patch(good, "StatefulSet", "storage-server", [{
		"op": "remove", "path": "/spec/template/spec/containers/0/volumeMounts",
	}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}
