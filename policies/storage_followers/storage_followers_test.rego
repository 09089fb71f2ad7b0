package sutra.storage_followers

import data.sutra.lib.fixtures as f
import data.sutra.lib.k8s

# A tier that runs followers and one that does not (the table says which).
replicated_tier := [t | some t, row in k8s.config.tiers; row.workloads[followers]][0]

plain_tier := [t | some t, row in k8s.config.tiers; not row.workloads[followers]][0]

good := f.tier_objects(replicated_tier)

reader := k8s.replication.readers[0]

readers_path := "/spec/template/spec/containers/0/env/0/value"

test_compliant_tier_allowed if {
	t := replicated_tier
	objs := good
	count(deny) == 0 with input as f.tier_input(t, objs)
}

test_tier_without_followers_allowed if {
	p := plain_tier
	objs := f.tier_objects(p)
	count(deny) == 0 with input as f.tier_input(p, objs)
}

test_full_dns_names_allowed if {
	t := replicated_tier
	value := "storage-replica-0.storage-replica.sutra-ai.svc.cluster.local:50051, storage-replica-1.storage-replica.sutra-ai.svc:50051"
	objs := f.patch(good, "Deployment", reader, [{"op": "replace", "path": readers_path, "value": value}])
	count(deny) == 0 with input as f.tier_input(t, objs)
}

test_one_follower_in_table_denied if {
	t := replicated_tier
	objs := good
	table := json.patch(k8s.config, [{"op": "replace", "path": sprintf("/tiers/%s/workloads/%s/replicas", [t, followers]), "value": 1}])
	some v in deny with input as f.tier_input(t, objs) with data.tiers as table
	contains(v.msg, "at least 2")
}

test_reader_missing_a_follower_denied if {
	t := replicated_tier
	objs := f.patch(good, "Deployment", reader, [{"op": "replace", "path": readers_path, "value": "storage-replica-0.storage-replica:50051"}])
	some v in deny with input as f.tier_input(t, objs)
	v.name == reader
	contains(v.msg, "storage-replica-1.storage-replica:50051")
}

test_reader_naming_a_pod_too_many_denied if {
	t := replicated_tier
	value := "storage-replica-0.storage-replica:50051,storage-replica-1.storage-replica:50051,storage-replica-2.storage-replica:50051"
	objs := f.patch(good, "Deployment", reader, [{"op": "replace", "path": readers_path, "value": value}])
	some v in deny with input as f.tier_input(t, objs)
	v.name == reader
}

test_reader_without_followers_denied if {
	t := replicated_tier
	objs := f.patch(good, "Deployment", reader, [{"op": "remove", "path": "/spec/template/spec/containers/0/env"}])
	some v in deny with input as f.tier_input(t, objs)
	contains(v.msg, "names no followers")
}

test_readers_where_none_run_denied if {
	p := plain_tier
	env := [{"name": "SUTRA_STORAGE_READERS", "value": "storage-replica-0.storage-replica:50051"}]
	objs := f.patch(f.tier_objects(p), "Deployment", reader, [{"op": "add", "path": "/spec/template/spec/containers/0/env", "value": env}])
	some v in deny with input as f.tier_input(p, objs)
	contains(v.msg, "runs none here")
}

# A region that is not the tier's storage primary runs no followers: its readers name none.
remote_region := [r | some r, row in k8s.config.regions; row.tiers[replicated_tier].storage == "remote"][0]

test_readers_in_a_remote_region_denied if {
	t := replicated_tier
	r := remote_region
	objs := good
	some v in deny with input as {"tier": t, "region": r, "objects": objs}
	contains(v.msg, "runs none here")
}

sharded_tier := [t | some t, _ in k8s.config.tiers; k8s.shard_count_of(t) > 1][0]

shard_readers_index(objs, n) := i if {
	some o in objs
	o.kind == "Deployment"
	o.metadata.name == n
	some i, e in o.spec.template.spec.containers[0].env
	e.name == "SUTRA_STORAGE_SHARD_READERS"
}

test_sharded_readers_allowed if {
	t := sharded_tier
	objs := f.tier_objects(t)
	count(deny) == 0 with input as f.tier_input(t, objs)
}

test_shard_readers_missing_a_shard_denied if {
	t := sharded_tier
	all := f.tier_objects(t)
	i := shard_readers_index(all, reader)
	value := "storage-replica-0.storage-replica:50051,storage-replica-1.storage-replica:50051"
	objs := f.patch(all, "Deployment", reader, [{"op": "replace", "path": sprintf("/spec/template/spec/containers/0/env/%d/value", [i]), "value": value}])
	some v in deny with input as f.tier_input(t, objs)
	contains(v.msg, "names the shards' followers")
}

test_shard_readers_without_followers_denied if {
	p := plain_tier
	add := {"name": "SUTRA_STORAGE_SHARD_READERS", "value": "a:1;b:1"}
	objs := f.patch(f.tier_objects(p), "Deployment", reader, [{"op": "add", "path": "/spec/template/spec/containers/0/env", "value": [add]}])
	some v in deny with input as f.tier_input(p, objs)
	contains(v.msg, "remove SUTRA_STORAGE_SHARD_READERS")
}
