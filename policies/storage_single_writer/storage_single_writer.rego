# The storage server is the single writer of its store: exactly one pod, as a StatefulSet, with
# its own ReadWriteOnce volume big enough for the tier, never autoscaled. Two writers on one
# store (or a pod without its volume) lose data.
#
# The checks on one object are in admission.rego, which Gatekeeper also enforces in the cluster
# with `parameters` below as the constraint's parameters; only "the StatefulSet is missing" needs
# the whole tier.
package sutra.storage_single_writer

import data.sutra.lib.k8s
import data.sutra.storage_single_writer.admission

# The table's values the checks on one object need.
parameters := {
	"workload": k8s.config.storage.workload,
	"minVolumeGi": k8s.config.storage.min_volume_gi,
	"accessMode": k8s.config.storage.access_mode,
}

storage_name := parameters.workload

# Every storage shard's writer (shard 0's is storage_name; a sharded tier's shard i's is
# storage_name-<i>, rule storage_shards).
# (Not in a region that is not the tier's storage primary: rule region_storage_writer.)
deny contains {"kind": "StatefulSet", "name": name, "msg": msg} if {
	k8s.storage_primary
	some i in k8s.shard_indexes(k8s.tier)
	name := k8s.shard_name(storage_name, i)
	count([o | some o in k8s.objects; o.kind == "StatefulSet"; o.metadata.name == name]) == 0
	msg := sprintf("StatefulSet %s is missing: the storage server (shard %d) must run as a StatefulSet", [name, i])
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.objects
	some msg in admission.messages(o, parameters)
}
