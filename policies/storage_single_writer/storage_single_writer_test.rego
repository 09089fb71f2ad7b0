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

# The replicated store: a follower (SUTRA_STORAGE_ROLE=follower) may run several pods; a workload
# that appends to the log without that role is a writer, whatever its name.
log_env(role) := [{"name": "SUTRA_STORAGE_NATS_URL", "value": "nats://nats:4222"}, {"name": "SUTRA_STORAGE_ROLE", "value": role}]

replicas_of(name, n, env) := object.union(f.workload(name, {"kind": "StatefulSet", "replicas": n}), {"spec": {"template": {"spec": {"containers": [object.union(
	f.container(name, 50051),
	{"env": env, "volumeMounts": [{"name": "storage-data", "mountPath": "/var/lib/sutra"}]},
)]}}}})

test_followers_allowed if {
	objs := array.concat(good, [replicas_of("storage-replica", 2, log_env("follower"))])
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_log_writer_with_two_replicas_denied if {
	objs := array.concat(good, [replicas_of("storage-replica", 2, log_env("writer"))])
	some v in deny with input as f.tier_input("low", objs)
	v.name == "storage-replica"
	contains(v.msg, "appends to the storage log")
}

test_log_writer_without_role_denied if {
	env := [{"name": "SUTRA_STORAGE_NATS_URL", "value": "nats://nats:4222"}]
	objs := array.concat(good, [replicas_of("storage-replica", 3, env)])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "replicas 3")
}

test_writer_label_under_another_name_denied if {
	w := json.patch(replicas_of("storage-b", 2, []), [{
		"op": "replace", "path": "/spec/template/metadata/labels/app.kubernetes.io~1name", "value": "storage-server",
	}])
	objs := array.concat(good, [w])
	some v in deny with input as f.tier_input("low", objs)
	v.name == "storage-b"
	contains(v.msg, "labelled app.kubernetes.io/name: storage-server")
}

test_log_writer_as_deployment_denied if {
	d := object.union(replicas_of("storage-b", 1, log_env("writer")), {"kind": "Deployment"})
	objs := array.concat(good, [d])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "must not be a Deployment")
}

sharded_tier := [n | some n, _ in data.sutra.lib.k8s.config.tiers; data.sutra.lib.k8s.shard_count_of(n) > 1][0]

test_missing_shard_writer_denied if {
	t := sharded_tier
	objs := f.without(f.tier_objects(t), "StatefulSet", "storage-server-1")
	some v in deny with input as f.tier_input(t, objs)
	contains(v.msg, "StatefulSet storage-server-1 is missing")
}

test_shard_writer_with_two_pods_denied if {
	t := sharded_tier
	objs := f.patch(f.tier_objects(t), "StatefulSet", "storage-server-3", [{"op": "replace", "path": "/spec/replicas", "value": 2}])
	some v in deny with input as f.tier_input(t, objs)
	v.name == "storage-server-3"
	contains(v.msg, "replicas 2")
}
