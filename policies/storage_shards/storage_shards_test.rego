package sutra.storage_shards

import data.sutra.lib.fixtures as f
import data.sutra.lib.k8s

# A sharded tier and an unsharded one (the table says which).
sharded_tier := [t | some t, _ in k8s.config.tiers; k8s.shard_count_of(t) > 1][0]

plain_tier := [t | some t, _ in k8s.config.tiers; k8s.shard_count_of(t) == 1][0]

good := f.tier_objects(sharded_tier)

env_path := "/spec/template/spec/containers/0/env"

# The index of an environment variable in a fixture workload's first container.
env_index(objs, kind, n, var) := i if {
	some o in objs
	o.kind == kind
	o.metadata.name == n
	some i, e in o.spec.template.spec.containers[0].env
	e.name == var
}

set_env(objs, kind, n, var, value) := f.patch(objs, kind, n, [{
	"op": "replace",
	"path": sprintf("%s/%d/value", [env_path, env_index(objs, kind, n, var)]),
	"value": value,
}])

messages(t, objs) := {v.msg | some v in deny with input as f.tier_input(t, objs)}

test_sharded_tier_allowed if {
	t := sharded_tier
	objs := good
	count(deny) == 0 with input as f.tier_input(t, objs)
}

test_unsharded_tier_allowed if {
	t := plain_tier
	objs := f.tier_objects(t)
	count(deny) == 0 with input as f.tier_input(t, objs)
}

test_missing_shard_writer_denied if {
	objs := f.without(good, "StatefulSet", "storage-server-2")
	some m in messages(sharded_tier, objs)
	contains(m, "shard 2 of the")
	contains(m, "has 0 writers")
}

test_two_writers_of_one_shard_denied if {
	objs := set_env(good, "StatefulSet", "storage-server-3", "SUTRA_STORAGE_SHARD", "1")
	some m in messages(sharded_tier, objs)
	contains(m, "shard 1 of the")
	contains(m, "has 2 writers")
}

test_wrong_count_denied if {
	objs := set_env(good, "StatefulSet", "storage-server-1", "SUTRA_STORAGE_SHARD_COUNT", "3")
	some m in messages(sharded_tier, objs)
	contains(m, "has SUTRA_STORAGE_SHARD_COUNT 3")
}

test_shared_stream_denied if {
	objs := set_env(good, "StatefulSet", "storage-server-1", "SUTRA_STORAGE_STREAM", "SUTRA_STORAGE_0")
	some m in messages(sharded_tier, objs)
	contains(m, "uses stream SUTRA_STORAGE_0")
}

test_two_writer_pods_denied if {
	objs := f.patch(good, "StatefulSet", "storage-server-1", [{"op": "replace", "path": "/spec/replicas", "value": 2}])
	some m in messages(sharded_tier, objs)
	contains(m, "with 2 pods")
}

test_shard_out_of_range_denied if {
	objs := set_env(good, "StatefulSet", "storage-server-3", "SUTRA_STORAGE_SHARD", "4")
	some m in messages(sharded_tier, objs)
	contains(m, "is storage shard 4, which the")
}

test_missing_follower_set_denied if {
	objs := f.without(good, "StatefulSet", "storage-replica-1")
	some m in messages(sharded_tier, objs)
	contains(m, "StatefulSet storage-replica-1 is missing")
}

test_follower_of_another_shard_denied if {
	objs := set_env(good, "StatefulSet", "storage-replica-2", "SUTRA_STORAGE_SHARD", "1")
	some m in messages(sharded_tier, objs)
	contains(m, "follows storage shard 1")
}

test_reader_missing_a_shard_denied if {
	reader := k8s.replication.readers[0]
	value := "storage-server:50051,storage-server-1:50051"
	objs := set_env(good, "Deployment", reader, "SUTRA_STORAGE_SHARDS", value)
	some m in messages(sharded_tier, objs)
	contains(m, "has SUTRA_STORAGE_SHARDS storage-server:50051,storage-server-1:50051")
}

test_router_in_unsharded_tier_denied if {
	t := plain_tier
	reader := k8s.replication.readers[0]
	add := {"op": "add", "path": sprintf("%s/-", [env_path]), "value": {"name": "SUTRA_STORAGE_SHARDS", "value": "a:1,b:1"}}
	objs := f.patch(f.tier_objects(t), "Deployment", reader, [{"op": "add", "path": env_path, "value": []}, add])
	some m in messages(t, objs)
	contains(m, "routes to storage shards")
}
