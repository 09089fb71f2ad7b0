# The storage log keeps its entries long enough for a follower to start from the newest snapshot:
# a follower whose position aged out of the stream restores the newest snapshot and replays the
# entries after it, so the stream's max_age must exceed the oldest that newest snapshot can be
# on a healthy schedule (backups.max_age_minutes, the snapshot-too-old alert's threshold) by one
# more interval, the time to act on the alert before a restart finds no snapshot the log reaches:
#   backups.log_max_age_minutes >= backups.max_age_minutes + backups.interval_minutes
# and the writer (which sets the stream's max_age when it creates or opens the stream) is given
# exactly that retention: SUTRA_STORAGE_STREAM_MAX_AGE_SECONDS = 60 x log_max_age_minutes.
package sutra.log_retention

import data.sutra.lib.k8s

setting := "SUTRA_STORAGE_STREAM_MAX_AGE_SECONDS"

writer_name := k8s.config.storage.workload

# Only where the tier runs the log, beside its writer.
backups := k8s.config.tiers[k8s.tier].backups if {
	k8s.storage_primary
	k8s.table[k8s.replication.log]
}

writers := [o | some o in k8s.workloads; o.metadata.name == writer_name]

deny contains {"kind": "StatefulSet", "name": writer_name, "msg": msg} if {
	backups
	not is_number(object.get(backups, "log_max_age_minutes", null))
	msg := sprintf(
		"the %s tier runs the storage log but its table row has no backups.log_max_age_minutes: set it to at least %v (max_age_minutes + interval_minutes)",
		[k8s.tier, needed],
	)
}

deny contains {"kind": "StatefulSet", "name": writer_name, "msg": msg} if {
	backups.log_max_age_minutes < needed
	msg := sprintf(
		"the %s tier keeps its log %v minutes, less than the %v its newest snapshot may be old plus one %v-minute interval (%v): a follower restarted then finds no snapshot the log reaches; raise backups.log_max_age_minutes",
		[k8s.tier, backups.log_max_age_minutes, backups.max_age_minutes, backups.interval_minutes, needed],
	)
}

deny contains {"kind": o.kind, "name": writer_name, "msg": msg} if {
	is_number(backups.log_max_age_minutes)
	some o in writers
	have := retention(o)
	have != sprintf("%d", [backups.log_max_age_minutes * 60])
	msg := sprintf(
		"%s %s sets %s %q: the %s tier table keeps the log %v minutes, set it to \"%d\"",
		[o.kind, writer_name, setting, have, k8s.tier, backups.log_max_age_minutes, backups.log_max_age_minutes * 60],
	)
}

deny contains {"kind": o.kind, "name": writer_name, "msg": msg} if {
	is_number(backups.log_max_age_minutes)
	some o in writers
	not retention(o)
	msg := sprintf(
		"%s %s does not set %s: its stream would keep every entry until the log's disk fills; set it to \"%d\" (tier table backups.log_max_age_minutes x 60)",
		[o.kind, writer_name, setting, backups.log_max_age_minutes * 60],
	)
}

needed := backups.max_age_minutes + backups.interval_minutes

retention(o) := v if {
	some c in k8s.containers(o)
	c.name == writer_name
	some e in object.get(c, "env", [])
	e.name == setting
	v := object.get(e, "value", "")
}
