package sutra.log_retention

import data.sutra.lib.fixtures as f
import data.sutra.lib.k8s

# A tier that runs the log and one that does not (the table says which).
log_tier := [t | some t, row in k8s.config.tiers; row.workloads[k8s.replication.log]][0]

plain_tier := [t | some t, row in k8s.config.tiers; not row.workloads[k8s.replication.log]][0]

good := f.tier_objects(log_tier)

env_path := "/spec/template/spec/containers/0/env"

test_compliant_tier_allowed if {
	t := log_tier
	objs := good
	count(deny) == 0 with input as f.tier_input(t, objs)
}

test_tier_without_log_allowed if {
	p := plain_tier
	objs := f.tier_objects(p)
	count(deny) == 0 with input as f.tier_input(p, objs)
}

test_every_log_tier_of_the_table_keeps_its_log_long_enough if {
	every _, row in k8s.config.tiers {
		long_enough(row)
	}
}

long_enough(row) if not row.workloads[k8s.replication.log]

long_enough(row) if {
	row.backups.log_max_age_minutes >= row.backups.max_age_minutes + row.backups.interval_minutes
}

test_writer_without_retention_denied if {
	t := log_tier
	objs := f.patch(good, "StatefulSet", writer_name, [{"op": "replace", "path": env_path, "value": [f.log_url]}])
	some v in deny with input as f.tier_input(t, objs)
	contains(v.msg, "does not set SUTRA_STORAGE_STREAM_MAX_AGE_SECONDS")
}

test_writer_with_other_retention_denied if {
	t := log_tier
	short := {"name": setting, "value": "3600"}
	objs := f.patch(good, "StatefulSet", writer_name, [{"op": "replace", "path": env_path, "value": [f.log_url, short]}])
	some v in deny with input as f.tier_input(t, objs)
	contains(v.msg, "\"3600\"")
}

test_table_retention_shorter_than_snapshot_age_denied if {
	t := log_tier
	objs := good
	path := sprintf("/tiers/%s/backups/log_max_age_minutes", [t])
	table := json.patch(k8s.config, [{"op": "replace", "path": path, "value": k8s.config.tiers[t].backups.max_age_minutes}])
	some v in deny with input as f.tier_input(t, objs) with data.tiers as table
	contains(v.msg, "raise backups.log_max_age_minutes")
}

test_table_without_retention_denied if {
	t := log_tier
	objs := good
	table := json.patch(k8s.config, [{"op": "remove", "path": sprintf("/tiers/%s/backups/log_max_age_minutes", [t])}])
	some v in deny with input as f.tier_input(t, objs) with data.tiers as table
	contains(v.msg, "no backups.log_max_age_minutes")
}
