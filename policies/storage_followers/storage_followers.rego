# The read followers of the replicated store (storage.replication.followers of the tier table):
# where a tier runs them, the table gives at least `min_followers` (one lost follower leaves
# reads served), and every reader (storage.replication.readers) names exactly the followers the
# table runs in SUTRA_STORAGE_READERS, one <follower>-<i>.<its Service>:<storage port> each: a
# name missing is a follower that serves nobody, a name too many a pod that does not exist,
# which the clients keep trying. Where the tier does not run them (low, or a region that is not
# the storage primary), no workload names followers.
package sutra.storage_followers

import data.sutra.lib.k8s

followers := k8s.replication.followers

readers_env := "SUTRA_STORAGE_READERS"

# The table's follower count for this tier, where it runs them (in this region).
count_in_table := k8s.table[followers].replicas

deny contains {"kind": "StatefulSet", "name": followers, "msg": msg} if {
	count_in_table < k8s.replication.min_followers
	msg := sprintf(
		"the %s tier runs %v %s pods (tier table): at least %v (storage.replication.min_followers) keep reads served while one restarts; raise its replicas in policies/data/tiers.yaml",
		[k8s.tier, count_in_table, followers, k8s.replication.min_followers],
	)
}

follower_sets := [o | some o in k8s.workloads; o.kind == "StatefulSet"; o.metadata.name == followers]

service_name := object.get(follower_sets[0], ["spec", "serviceName"], followers)

# The addresses the readers must name, by the follower's Service (host) and the storage port.
expected := {sprintf("%s-%d.%s:%d", [followers, i, service_name, k8s.config.storage.port]) |
	some i in numbers.range(0, count_in_table - 1)
}

# A reader's addresses, with the namespace's DNS suffixes dropped (pod.service.ns.svc...).
named(value) := {short(a) | some part in split(value, ","); a := trim_space(part); a != ""}

short(address) := sprintf("%s.%s:%s", [labels[0], labels[1], port]) if {
	[host, port] := split(address, ":")
	labels := split(host, ".")
	count(labels) >= 2
} else := address

reader_values(o) := [e.value |
	some c in k8s.containers(o)
	some e in object.get(c, "env", [])
	e.name == readers_env
]

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	count_in_table
	some n in k8s.replication.readers
	some o in k8s.workloads
	o.metadata.name == n
	count(reader_values(o)) == 0
	msg := sprintf(
		"%s reads from the store but names no followers: set %s to %s",
		[k8s.describe(o), readers_env, concat(",", sort(expected))],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	count_in_table
	some o in k8s.workloads
	some value in reader_values(o)
	named(value) != expected
	msg := sprintf(
		"%s names the followers %s, but the %s tier runs %v (tier table): set %s to %s",
		[k8s.describe(o), value, k8s.tier, count_in_table, readers_env, concat(",", sort(expected))],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	not count_in_table
	some o in k8s.workloads
	count(reader_values(o)) > 0
	msg := sprintf(
		"%s names read followers (%s), but the %s tier runs none here: remove %s",
		[k8s.describe(o), readers_env, k8s.tier, readers_env],
	)
}

# A sharded tier (storage.shards): the readers name each shard's followers in
# SUTRA_STORAGE_SHARD_READERS, shards apart by `;` in shard order, shard i's followers being
# <follower>-<i> (shard 0: <follower>) with the table's count each.
shard_readers_env := "SUTRA_STORAGE_SHARD_READERS"

expected_shard(i) := {sprintf("%s-%d.%s:%d", [set, k, set, k8s.config.storage.port]) |
	set := k8s.shard_name(followers, i)
	some k in numbers.range(0, count_in_table - 1)
}

expected_shards := [expected_shard(i) | some i in k8s.shard_indexes(k8s.tier)]

shard_reader_values(o) := [e.value |
	some c in k8s.containers(o)
	some e in object.get(c, "env", [])
	e.name == shard_readers_env
]

shard_groups(value) := [named(group) | some group in split(value, ";")]

expected_text := concat(";", [concat(",", sort(g)) | some g in expected_shards])

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	count_in_table
	k8s.shard_count > 1
	some n in k8s.replication.readers
	some o in k8s.workloads
	o.metadata.name == n
	count(shard_reader_values(o)) == 0
	msg := sprintf("%s reads from %d storage shards but names none of their followers: set %s to %s", [k8s.describe(o), k8s.shard_count, shard_readers_env, expected_text])
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	count_in_table
	some o in k8s.workloads
	some value in shard_reader_values(o)
	shard_groups(value) != expected_shards
	msg := sprintf(
		"%s names the shards' followers %s, but the %s tier runs %v per shard on %d shards (tier table): set %s to %s",
		[k8s.describe(o), value, k8s.tier, count_in_table, k8s.shard_count, shard_readers_env, expected_text],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	not count_in_table
	some o in k8s.workloads
	count(shard_reader_values(o)) > 0
	msg := sprintf("%s names read followers (%s), but the %s tier runs none here: remove %s", [k8s.describe(o), shard_readers_env, k8s.tier, shard_readers_env])
}
