package sutra.region_storage_writer

import data.sutra.lib.fixtures as f

# In the tier table, eu-west is the storage primary of medium and remote for high; us-east the
# reverse.
with_writer := f.tier_objects("high")

# Every shard's writer removed (high runs storage.shards of them).
without_writer := [o | some o in with_writer; not writer(o)]

region_input(region, objs) := {"tier": "high", "region": region, "objects": objs}

test_primary_with_one_writer_allowed if {
	objs := with_writer
	count(deny) == 0 with input as region_input("us-east", objs)
}

test_remote_without_writer_allowed if {
	objs := without_writer
	count(deny) == 0 with input as region_input("eu-west", objs)
}

test_tier_overlay_allowed if {
	objs := with_writer
	count(deny) == 0 with input as f.tier_input("high", objs)
}

test_remote_with_writer_denied if {
	objs := with_writer
	some v in deny with input as region_input("eu-west", objs)
	v.kind == "StatefulSet"
	contains(v.msg, "storage primary is us-east")
}

test_remote_with_writer_under_another_kind_denied if {
	d := f.workload("storage-server", {"kind": "Deployment", "replicas": 1})
	objs := array.concat(without_writer, [d])
	some v in deny with input as region_input("eu-west", objs)
	v.kind == "Deployment"
}

test_primary_without_writer_denied if {
	objs := without_writer
	some v in deny with input as region_input("us-east", objs)
	contains(v.msg, "renders 0")
}

test_primary_missing_one_shard_writer_denied if {
	objs := f.without(with_writer, "StatefulSet", "storage-server-2")
	some v in deny with input as region_input("us-east", objs)
	contains(v.msg, "exactly one writer per storage shard (4), it renders 3")
}

test_remote_with_a_shard_writer_denied if {
	objs := array.concat(without_writer, [o | some o in with_writer; o.kind == "StatefulSet"; o.metadata.name == "storage-server-3"])
	some v in deny with input as region_input("eu-west", objs)
	v.name == "storage-server-3"
}
