# The store has a single writer, so each tier's writer runs in exactly one region, the one the
# table's `regions:` makes the tier's storage primary. A region overlay that is not the primary
# renders no writer; the primary's renders exactly one. (That no two regions render one is also
# checked across the regions by `sutra check`, which sees every region at once.)
# The writer is told by name and label: the StatefulSet named `storage.workload`, or any
# workload whose pods carry app.kubernetes.io/name: <storage.workload>. A read follower of the
# store must run under another name. A sharded tier (storage.shards) has one writer per shard,
# `<storage.workload>-<i>` for shard i >= 1: the primary runs exactly one per shard (rule
# storage_shards says which shard each is), a remote region none.
package sutra.region_storage_writer

import data.sutra.lib.k8s

storage := k8s.config.storage.workload

shard_writer_name(n) if regex.match(sprintf("^%s(-[0-9]+)?$", [storage]), n)

writer(o) if {
	o.kind == "StatefulSet"
	shard_writer_name(o.metadata.name)
}

writer(o) if shard_writer_name(k8s.pod_labels(o)["app.kubernetes.io/name"])

writers := [o | some o in k8s.workloads; writer(o)]

primaries := [r | some r, row in k8s.config.regions; row.tiers[k8s.tier].storage == "primary"]

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	k8s.placement.storage == "remote"
	some o in writers
	msg := sprintf(
		"%s writes the %s store in region %s, whose storage primary is %s: a second writer corrupts it; run no writer here (components/regions/storage-remote)",
		[k8s.describe(o), k8s.tier, k8s.region, concat(", ", primaries)],
	)
}

deny contains {"kind": "StatefulSet", "name": storage, "msg": msg} if {
	k8s.placement.storage == "primary"
	count(writers) != k8s.shard_count
	msg := sprintf(
		"StatefulSet %s: region %s is the %s tier's storage primary and must run exactly one writer per storage shard (%d), it renders %d",
		[storage, k8s.region, k8s.tier, k8s.shard_count, count(writers)],
	)
}
