# Every storage shard of the tier (storage.shards of its row; 1, unsharded, where absent) runs
# exactly one writer, a StatefulSet of one pod that knows its shard (SUTRA_STORAGE_SHARD = its
# index, SUTRA_STORAGE_SHARD_COUNT = the table's count) and appends to a stream of its own
# (SUTRA_STORAGE_STREAM = SUTRA_STORAGE_<index>); where the tier runs read followers, each shard
# has its follower StatefulSet on the same shard and stream; and every reader lists each shard's
# writer, in shard order, in SUTRA_STORAGE_SHARDS. A shard without a writer loses every write the
# router sends it, two writers of one shard (or two shards on one stream) corrupt it, and a count
# other than the table's makes the router refuse every shard (another map).
# Shard 0 keeps the unsharded names; shard i >= 1 is `<name>-<i>` (lib/k8s.rego: shard_name).
package sutra.storage_shards

import data.sutra.lib.k8s

storage := k8s.config.storage.workload

followers := k8s.replication.followers

shard_env := "SUTRA_STORAGE_SHARD"

count_env := "SUTRA_STORAGE_SHARD_COUNT"

stream_env := "SUTRA_STORAGE_STREAM"

shards_env := "SUTRA_STORAGE_SHARDS"

# The value of an environment variable of a workload's containers, or DEFAULT.
env(o, n, default_value) := values[0] if {
	values := [e.value |
		some c in k8s.containers(o)
		some e in object.get(c, "env", [])
		e.name == n
	]
	count(values) > 0
} else := default_value

named_like(base, n) if regex.match(sprintf("^%s(-[0-9]+)?$", [base]), n)

# A writer: named or labelled like a shard's writer, or a server that claims a shard in a role
# other than follower.
writer(o) if named_like(storage, o.metadata.name)

writer(o) if named_like(storage, object.get(k8s.pod_labels(o), "app.kubernetes.io/name", ""))

writer(o) if {
	env(o, shard_env, null) != null
	env(o, "SUTRA_STORAGE_ROLE", "writer") != "follower"
}

writers := [o | some o in k8s.workloads; writer(o)]

follower_sets := [o |
	some o in k8s.workloads
	named_like(followers, o.metadata.name)
]

# The shard a server says it is (0 when unset: an unsharded server is shard 0).
index(o) := env(o, shard_env, "0")

stream(i) := sprintf("SUTRA_STORAGE_%d", [i])

describe(o) := k8s.describe(o)

deny contains {"kind": "StatefulSet", "name": name, "msg": msg} if {
	k8s.storage_primary
	some i in k8s.shard_indexes(k8s.tier)
	name := k8s.shard_name(storage, i)
	have := count([o | some o in writers; index(o) == sprintf("%d", [i])])
	have != 1
	msg := sprintf(
		"shard %d of the %s tier's %d storage shards (tier table) has %d writers: run exactly one, StatefulSet %s with %s=%d",
		[i, k8s.tier, k8s.shard_count, have, name, shard_env, i],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in writers
	not index(o) in {sprintf("%d", [i]) | some i in k8s.shard_indexes(k8s.tier)}
	msg := sprintf(
		"%s is storage shard %v, which the %s tier does not have (%d shards, tier table): set %s to its index",
		[describe(o), index(o), k8s.tier, k8s.shard_count, shard_env],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in array.concat(writers, follower_sets)
	have := env(o, count_env, "1")
	have != sprintf("%d", [k8s.shard_count])
	msg := sprintf(
		"%s has %s %v: the %s tier runs %d storage shards (tier table), set it to %d",
		[describe(o), count_env, have, k8s.tier, k8s.shard_count, k8s.shard_count],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in writers
	some i in k8s.shard_indexes(k8s.tier)
	index(o) == sprintf("%d", [i])
	o.metadata.name != k8s.shard_name(storage, i)
	msg := sprintf(
		"%s is storage shard %d, whose writer is StatefulSet %s: its Service, snapshots and readers name it so",
		[describe(o), i, k8s.shard_name(storage, i)],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in writers
	object.get(o, ["spec", "replicas"], 1) != 1
	msg := sprintf("%s writes a storage shard with %v pods: a shard has exactly one writer, set replicas: 1", [describe(o), o.spec.replicas])
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in array.concat(writers, follower_sets)
	some i in k8s.shard_indexes(k8s.tier)
	index(o) == sprintf("%d", [i])
	have := env(o, stream_env, stream(0))
	have != stream(i)
	msg := sprintf("%s is storage shard %d but uses stream %s: each shard has its own, set %s to %s", [describe(o), i, have, stream_env, stream(i)])
}

deny contains {"kind": "StatefulSet", "name": name, "msg": msg} if {
	k8s.table[followers]
	some i in k8s.shard_indexes(k8s.tier)
	name := k8s.shard_name(followers, i)
	sets := [o | some o in follower_sets; o.metadata.name == name]
	count(sets) == 0
	msg := sprintf("StatefulSet %s is missing: storage shard %d of the %s tier has its own read followers", [name, i, k8s.tier])
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in follower_sets
	some i in k8s.shard_indexes(k8s.tier)
	o.metadata.name == k8s.shard_name(followers, i)
	index(o) != sprintf("%d", [i])
	msg := sprintf("%s follows storage shard %v: it is shard %d's follower set, set %s to %d", [describe(o), index(o), i, shard_env, i])
}

# The readers' list of every shard's writer, in shard order.
expected := concat(",", [sprintf("%s:%d", [k8s.shard_name(storage, i), k8s.config.storage.port]) |
	some i in k8s.shard_indexes(k8s.tier)
])

# The shard router's users (storage.replication.readers of the table).
readers := {n | some n in k8s.replication.readers}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	k8s.shard_count > 1
	some o in k8s.workloads
	o.metadata.name in readers
	have := env(o, shards_env, "unset")
	have != expected
	msg := sprintf("%s has %s %s: the %s tier runs %d storage shards, set it to %s", [describe(o), shards_env, have, k8s.tier, k8s.shard_count, expected])
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	k8s.shard_count == 1
	some o in k8s.workloads
	have := env(o, shards_env, "")
	count([t | some t in split(have, ","); trim_space(t) != ""]) > 1
	msg := sprintf("%s routes to storage shards (%s %s), but the %s tier runs one store: remove %s", [describe(o), shards_env, have, k8s.tier, shards_env])
}
