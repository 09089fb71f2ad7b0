# The store's snapshot CronJob runs as the tier table's `backups` says: its schedule (UTC), its
# retention (`--keep`), one run at a time, deadlines that fit the alert's `max_age_minutes`, and
# it writes onto a volume of its own, never the storage server's: losing the store's volume must
# not lose its backups, and the snapshot-too-old alert must not fire on a healthy schedule.
# Where a region is the storage primary of a tier that runs the replicated store, the job uploads
# to the region's bucket instead (`snapshots:` of its row: s3://<bucket>/<prefix>/<tier>), where
# the followers bootstrap from, with credentials from a mounted file, never a value in git.
# A sharded tier (storage.shards) runs one such job per shard: shard i's is `storage-snapshot-<i>`
# (shard 0's keeps the name), snapshots the writer of its shard (`--server`), onto a claim of its
# own or under `<tier>/shard-<i>` of the bucket (no shard's prefix holds another's).
package sutra.snapshot_schedule

import data.sutra.lib.k8s

job_name := "storage-snapshot"

# Only where the store's writer runs: a region that is not the tier's storage primary takes no
# snapshots (the primary does).
backups := k8s.config.tiers[k8s.tier].backups if k8s.storage_primary

jobs := [o | some o in k8s.objects; o.kind == "CronJob"; k8s.shard_index(job_name, o.metadata.name)]

# Shard i's job snapshots shard i's writer.
server(i) := sprintf("%s:%d", [k8s.shard_name(k8s.config.storage.workload, i), k8s.config.storage.port])

# Where job o uploads: the tier's bucket URL, under shard-<i> in a sharded tier.
job_url(o) := bucket_url if {
	k8s.shard_count == 1
} else := sprintf("%s/shard-%d", [bucket_url, k8s.shard_index(job_name, o.metadata.name)])

# The bucket URL of this region overlay's snapshots, where the region's followers start from.
bucket_url := concat("/", array.concat(["s3:/", row.bucket], array.concat(prefix, [k8s.tier]))) if {
	backups
	k8s.region != ""
	k8s.table[k8s.replication.log]
	row := k8s.region_row.snapshots
	prefix := [p | p := trim(object.get(row, "prefix", ""), "/"); p != ""]
}

deny contains violation(o, msg) if {
	some o in jobs
	bucket_url
	target(o) != job_url(o)
	msg := sprintf("writes to %s: the followers of region %s bootstrap from %s (its snapshots in the tier table): pass --to %s", [target(o), k8s.region, job_url(o), job_url(o)])
}

deny contains violation(o, msg) if {
	some o in jobs
	backups
	k8s.shard_count > 1
	want := server(k8s.shard_index(job_name, o.metadata.name))
	server_of(o) != want
	msg := sprintf("snapshots %s: it is the job of the shard whose writer is %s, pass --server %s", [server_of(o), want, want])
}

# boto3 reads the credentials from a file: a shared credentials file or a web identity token.
credential_files := {"AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE"}

deny contains violation(o, msg) if {
	some o in jobs
	bucket_url
	not credential_file(o)
	msg := sprintf("uploads to %s with no credentials file: set AWS_SHARED_CREDENTIALS_FILE (a mounted Secret) or AWS_WEB_IDENTITY_TOKEN_FILE", [bucket_url])
}

deny contains violation(o, msg) if {
	some o in jobs
	some c in k8s.containers(o)
	some e in object.get(c, "env", [])
	e.name in {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
	msg := sprintf("sets %s in its environment: credentials come from a mounted file, never from the manifest", [e.name])
}

credential_file(o) if {
	some c in k8s.containers(o)
	some e in object.get(c, "env", [])
	e.name in credential_files
	e.value != ""
}

deny contains {"kind": "CronJob", "name": name, "msg": msg} if {
	backups
	some i in k8s.shard_indexes(k8s.tier)
	name := k8s.shard_name(job_name, i)
	count([o | some o in jobs; o.metadata.name == name]) == 0
	msg := sprintf(
		"CronJob %s is missing: the %s tier snapshots the store (shard %d) at %q (tier table backups)",
		[name, k8s.tier, i, backups.schedule],
	)
}

deny contains violation(o, msg) if {
	some o in jobs
	have := object.get(o, ["spec", "schedule"], "")
	have != backups.schedule
	msg := sprintf("runs at %q: the %s tier table says schedule %q", [have, k8s.tier, backups.schedule])
}

deny contains violation(o, msg) if {
	some o in jobs
	have := object.get(o, ["spec", "timeZone"], "unset")
	not have in {"Etc/UTC", "UTC"}
	msg := sprintf("has timeZone %q: set timeZone: Etc/UTC (the table's schedules are UTC)", [have])
}

deny contains violation(o, "may run twice at once: set concurrencyPolicy: Forbid") if {
	some o in jobs
	object.get(o, ["spec", "concurrencyPolicy"], "Allow") != "Forbid"
}

deny contains violation(o, msg) if {
	some o in jobs
	have := keep(o)
	have != backups.keep
	msg := sprintf("keeps %v snapshots: the %s tier table says --keep %v", [have, k8s.tier, backups.keep])
}

deny contains violation(o, msg) if {
	some o in jobs
	not keep(o)
	msg := sprintf("keeps every snapshot: pass --keep %v (tier table)", [backups.keep])
}

deadline_paths := {
	"startingDeadlineSeconds": ["spec", "startingDeadlineSeconds"],
	"activeDeadlineSeconds": ["spec", "jobTemplate", "spec", "activeDeadlineSeconds"],
}

deny contains violation(o, msg) if {
	some o in jobs
	some field, path in deadline_paths
	not is_number(object.get(o, path, null))
	msg := sprintf(
		"sets no %s: a late or hung run must end before the snapshot-too-old alert (%v minutes)",
		[field, backups.max_age_minutes],
	)
}

deny contains violation(o, msg) if {
	some o in jobs
	some field, path in deadline_paths
	seconds := object.get(o, path, 0)
	is_number(seconds)
	seconds >= backups.interval_minutes * 60
	msg := sprintf(
		"has %s %v, not under the %v-minute interval: runs would overlap or be skipped",
		[field, seconds, backups.interval_minutes],
	)
}

deny contains violation(o, msg) if {
	some o in jobs
	start := o.spec.startingDeadlineSeconds
	active := o.spec.jobTemplate.spec.activeDeadlineSeconds
	oldest := backups.interval_minutes + ((start + active) / 60)
	oldest > backups.max_age_minutes
	msg := sprintf(
		"may let the newest snapshot reach %v minutes (interval %v + startingDeadlineSeconds %v + activeDeadlineSeconds %v) on a healthy schedule, past max_age_minutes %v: shorten the deadlines",
		[oldest, backups.interval_minutes, start, active, backups.max_age_minutes],
	)
}

deny contains violation(o, msg) if {
	some o in jobs
	not target(o)
	msg := "has no --to DIR: the snapshot command needs a directory on its own volume"
}

deny contains violation(o, msg) if {
	some o in jobs
	not bucket_url
	not volume_of(o, target(o))
	msg := sprintf("writes to %s, which is on no volume: mount a PersistentVolumeClaim of its own there", [target(o)])
}

deny contains violation(o, msg) if {
	some o in jobs
	not bucket_url
	volume := volume_of(o, target(o))
	not volume.persistentVolumeClaim
	msg := sprintf("writes to %s on volume %s, which is not a PersistentVolumeClaim: snapshots must outlive the pod", [target(o), volume.name])
}

deny contains violation(o, msg) if {
	some o in jobs
	not bucket_url
	claim := volume_of(o, target(o)).persistentVolumeClaim.claimName
	storage_claim(claim)
	msg := sprintf("writes to %s on claim %s, the storage server's own volume: give the snapshots a PersistentVolumeClaim of their own", [target(o), claim])
}

deny contains violation(o, msg) if {
	some o in jobs
	not bucket_url
	claim := volume_of(o, target(o)).persistentVolumeClaim.claimName
	not storage_claim(claim)
	count(claims(claim)) == 0
	msg := sprintf("writes to claim %s, which this tier does not define: add the PersistentVolumeClaim (%vGi)", [claim, backups.volume_gi])
}

deny contains violation(o, msg) if {
	some o in jobs
	not bucket_url
	claim := volume_of(o, target(o)).persistentVolumeClaim.claimName
	some pvc in claims(claim)
	size := object.get(pvc, ["spec", "resources", "requests", "storage"], "no size")
	not big_enough(size)
	msg := sprintf(
		"writes to claim %s of %s: the %s tier keeps %v snapshots and needs %vGi (tier table volume_gi)",
		[claim, size, k8s.tier, backups.keep, backups.volume_gi],
	)
}

violation(o, msg) := {"kind": o.kind, "name": o.metadata.name, "msg": sprintf("CronJob %s %s", [o.metadata.name, msg])}

big_enough(size) if k8s.quantity(size) >= backups.volume_gi * ((1024 * 1024) * 1024)

claims(claim) := [p | some p in k8s.objects; p.kind == "PersistentVolumeClaim"; p.metadata.name == claim]

# The snapshot command's options: `--keep N` or `--keep=N`, `--to DIR` or `--to=DIR`.
argv(o) := [a |
	some c in k8s.containers(o)
	some a in array.concat(object.get(c, "command", []), object.get(c, "args", []))
]

option(o, name) := v if {
	args := argv(o)
	some i, a in args
	a == name
	v := args[i + 1]
} else := v if {
	some a in argv(o)
	startswith(a, concat("", [name, "="]))
	v := substring(a, count(name) + 1, -1)
}

keep(o) := to_number(option(o, "--keep"))

server_of(o) := option(o, "--server") if true else := "no server (--server)"

target(o) := option(o, "--to")

# The deepest volumeMount holding path, and the pod volume behind it.
mounts_under(o, path) := [m |
	some c in k8s.containers(o)
	some m in object.get(c, "volumeMounts", [])
	under(path, m.mountPath)
]

under(path, mount) if path == mount

under(path, mount) if startswith(path, concat("", [trim_right(mount, "/"), "/"]))

volume_of(o, path) := v if {
	mounts := mounts_under(o, path)
	deepest := max([count(m.mountPath) | some m in mounts])
	some m in mounts
	count(m.mountPath) == deepest
	some v in object.get(k8s.pod_spec(o), "volumes", [])
	v.name == m.name
}

# A claim of the storage server: one its pods mount, or one its volumeClaimTemplates create
# (<template>-<statefulset>-<ordinal>).
storage_claim(claim) if {
	some s in k8s.workloads
	k8s.shard_index(k8s.config.storage.workload, s.metadata.name)
	some v in object.get(k8s.pod_spec(s), "volumes", [])
	v.persistentVolumeClaim.claimName == claim
}

storage_claim(claim) if {
	some s in k8s.workloads
	k8s.shard_index(k8s.config.storage.workload, s.metadata.name)
	s.kind == "StatefulSet"
	some t in object.get(s, ["spec", "volumeClaimTemplates"], [])
	startswith(claim, sprintf("%s-%s-", [t.metadata.name, s.metadata.name]))
}
