package sutra.snapshot_schedule

import data.sutra.lib.fixtures as f
import data.sutra.lib.k8s

good(t) := f.tier_objects(t)

container_path := "/spec/jobTemplate/spec/template/spec/containers/0"

messages(t, objs) := {v.msg | some v in deny with input as f.tier_input(t, objs)}

test_compliant_tiers_allowed if {
	low := good("low")
	count(deny) == 0 with input as f.tier_input("low", low)
	medium := good("medium")
	count(deny) == 0 with input as f.tier_input("medium", medium)
	high := good("high")
	count(deny) == 0 with input as f.tier_input("high", high)
}

test_other_tiers_schedule_denied if {
	# low's daily job is wrong for high, which snapshots hourly and keeps 48.
	objs := array.concat(
		[o | some o in good("high"); not o.kind in {"CronJob", "PersistentVolumeClaim"}],
		[o | some o in good("low"); o.kind in {"CronJob", "PersistentVolumeClaim"}],
	)
	msgs := messages("high", objs)
	some m1 in msgs
	contains(m1, `runs at "17 3 * * *": the high tier table says schedule "17 * * * *"`)
	some m2 in msgs
	contains(m2, "keeps 7 snapshots: the high tier table says --keep 48")
	some m3 in msgs
	contains(m3, "of 100Gi: the high tier keeps 48 snapshots and needs 500Gi")
}

test_missing_job_denied if {
	objs := f.without(good("low"), "CronJob", "storage-snapshot")
	some m in messages("low", objs)
	startswith(m, "CronJob storage-snapshot is missing")
}

test_keep_equals_form_allowed if {
	objs := f.patch(good("medium"), "CronJob", "storage-snapshot", [{
		"op": "replace", "path": concat("", [container_path, "/args"]),
		"value": ["storage", "snapshot", "--to=/snapshots/medium", "--keep=28"],
	}])
	count(deny) == 0 with input as f.tier_input("medium", objs)
}

test_no_keep_denied if {
	objs := f.patch(good("low"), "CronJob", "storage-snapshot", [{
		"op": "replace", "path": concat("", [container_path, "/args"]),
		"value": ["storage", "snapshot", "--to", "/snapshots"],
	}])
	messages("low", objs) == {"CronJob storage-snapshot keeps every snapshot: pass --keep 7 (tier table)"}
}

test_concurrent_runs_denied if {
	objs := f.patch(good("low"), "CronJob", "storage-snapshot", [{"op": "remove", "path": "/spec/concurrencyPolicy"}])
	messages("low", objs) == {"CronJob storage-snapshot may run twice at once: set concurrencyPolicy: Forbid"}
}

test_local_time_zone_denied if {
	objs := f.patch(good("low"), "CronJob", "storage-snapshot", [{"op": "replace", "path": "/spec/timeZone", "value": "Europe/Paris"}])
	some m in messages("low", objs)
	contains(m, `has timeZone "Europe/Paris"`)
}

test_missing_deadline_denied if {
	objs := f.patch(good("high"), "CronJob", "storage-snapshot", [{"op": "remove", "path": "/spec/jobTemplate/spec/activeDeadlineSeconds"}])
	some m in messages("high", objs)
	contains(m, "sets no activeDeadlineSeconds")
}

test_deadline_longer_than_interval_denied if {
	# Two hours may suit a daily job; hourly, the next run would be skipped.
	objs := f.patch(good("high"), "CronJob", "storage-snapshot", [{"op": "replace", "path": "/spec/jobTemplate/spec/activeDeadlineSeconds", "value": 7200}])
	msgs := messages("high", objs)
	some m1 in msgs
	contains(m1, "has activeDeadlineSeconds 7200, not under the 60-minute interval")
	some m2 in msgs
	contains(m2, "past max_age_minutes 120")
}

test_deadlines_past_alert_threshold_denied if {
	objs := f.patch(good("high"), "CronJob", "storage-snapshot", [
		{"op": "replace", "path": "/spec/startingDeadlineSeconds", "value": 1800},
		{"op": "replace", "path": "/spec/jobTemplate/spec/activeDeadlineSeconds", "value": 3000},
	])
	messages("high", objs) == {"CronJob storage-snapshot may let the newest snapshot reach 140 minutes (interval 60 + startingDeadlineSeconds 1800 + activeDeadlineSeconds 3000) on a healthy schedule, past max_age_minutes 120: shorten the deadlines"}
}

test_storage_volume_denied if {
	objs := f.patch(good("low"), "CronJob", "storage-snapshot", [{
		"op": "replace", "path": "/spec/jobTemplate/spec/template/spec/volumes/0/persistentVolumeClaim/claimName",
		"value": "storage-data-storage-server-0",
	}])
	some m in messages("low", objs)
	contains(m, "on claim storage-data-storage-server-0, the storage server's own volume")
}

test_empty_dir_denied if {
	objs := f.patch(good("low"), "CronJob", "storage-snapshot", [{
		"op": "replace", "path": "/spec/jobTemplate/spec/template/spec/volumes/0",
		"value": {"name": "snapshots", "emptyDir": {}},
	}])
	some m in messages("low", objs)
	contains(m, "on volume snapshots, which is not a PersistentVolumeClaim")
}

test_target_outside_volumes_denied if {
	objs := f.patch(good("low"), "CronJob", "storage-snapshot", [{
		"op": "replace", "path": concat("", [container_path, "/args/3"]), "value": "/var/backups",
	}])
	some m in messages("low", objs)
	contains(m, "writes to /var/backups, which is on no volume")
}

test_nested_mount_decides if {
	# /snapshots/store is its own (storage) volume even though /snapshots is a fine claim.
	objs := f.patch(good("low"), "CronJob", "storage-snapshot", [
		{"op": "replace", "path": concat("", [container_path, "/args/3"]), "value": "/snapshots/store/daily"},
		{"op": "add", "path": concat("", [container_path, "/volumeMounts/-"]), "value": {"name": "data", "mountPath": "/snapshots/store/"}},
		{"op": "add", "path": "/spec/jobTemplate/spec/template/spec/volumes/-", "value": {"name": "data", "persistentVolumeClaim": {"claimName": "storage-data-storage-server-0"}}},
	])
	some m in messages("low", objs)
	contains(m, "the storage server's own volume")
}

test_undefined_claim_denied if {
	objs := f.without(good("low"), "PersistentVolumeClaim", "storage-snapshots")
	some m in messages("low", objs)
	contains(m, "writes to claim storage-snapshots, which this tier does not define")
}

# A region that is the storage primary of a tier running the log: its job uploads to the bucket.
primary := [[r, t] |
	some r, row in data.sutra.lib.k8s.config.regions
	some t, entry in row.tiers
	entry.storage == "primary"
	data.sutra.lib.k8s.config.tiers[t].workloads[data.sutra.lib.k8s.replication.log]
][0]

bucket := sprintf("s3://%s/%s/%s", [row.bucket, row.prefix, primary[1]]) if {
	row := data.sutra.lib.k8s.config.regions[primary[0]].snapshots
}

credentials := {"name": "AWS_SHARED_CREDENTIALS_FILE", "value": "/var/run/secrets/sutra/snapshots/credentials"}

to_bucket(url, env) := [o |
	some p in good(primary[1])
	p.kind != "PersistentVolumeClaim"
	o := f.patched(p, "CronJob", "storage-snapshot", [
		{"op": "replace", "path": sprintf("%s/args", [container_path]), "value": ["storage", "snapshot", "--to", url, "--keep", sprintf("%d", [data.sutra.lib.k8s.config.tiers[primary[1]].backups.keep])]},
		{"op": "replace", "path": sprintf("%s/volumeMounts", [container_path]), "value": [{"name": "s3", "mountPath": "/var/run/secrets/sutra/snapshots", "readOnly": true}]},
		{"op": "add", "path": sprintf("%s/env", [container_path]), "value": env},
		{"op": "replace", "path": "/spec/jobTemplate/spec/template/spec/volumes", "value": [{"name": "s3", "secret": {"secretName": "storage-snapshots-s3"}}]},
	])
]

region_messages(objs) := msgs if {
	region_input := {"tier": primary[1], "region": primary[0], "objects": objs}
	msgs := {v.msg | some v in deny with input as region_input}
}

test_primary_region_uploads_to_its_bucket_allowed if {
	objs := to_bucket(bucket, [credentials])
	count(region_messages(objs)) == 0
}

test_primary_region_onto_a_claim_denied if {
	objs := good(primary[1])
	some m in region_messages(objs)
	contains(m, sprintf("pass --to %s", [bucket]))
}

test_other_bucket_denied if {
	objs := to_bucket("s3://another-bucket/storage", [credentials])
	some m in region_messages(objs)
	contains(m, "writes to s3://another-bucket/storage")
}

test_bucket_without_credentials_file_denied if {
	objs := to_bucket(bucket, [{"name": "AWS_DEFAULT_REGION", "value": "eu-west-1"}])
	some m in region_messages(objs)
	contains(m, "no credentials file")
}

test_key_in_environment_denied if {
	objs := to_bucket(bucket, [credentials, {"name": "AWS_SECRET_ACCESS_KEY", "value": "x"}])
	some m in region_messages(objs)
	contains(m, "sets AWS_SECRET_ACCESS_KEY")
}

# A sharded tier runs one job per shard, each on its own shard's writer.
sharded_tier := [t | some t, _ in k8s.config.tiers; k8s.shard_count_of(t) > 1][0]

test_sharded_tier_jobs_allowed if {
	t := sharded_tier
	objs := good(t)
	count(deny) == 0 with input as f.tier_input(t, objs)
}

test_missing_shard_job_denied if {
	t := sharded_tier
	objs := f.without(good(t), "CronJob", "storage-snapshot-1")
	some m in messages(t, objs)
	contains(m, "CronJob storage-snapshot-1 is missing")
}

test_shard_job_on_another_shard_denied if {
	t := sharded_tier
	objs := f.patch(good(t), "CronJob", "storage-snapshot-2", [{
		"op": "replace", "path": concat("", [container_path, "/args/7"]), "value": "storage-server:50051",
	}])
	some m in messages(t, objs)
	contains(m, "CronJob storage-snapshot-2 snapshots storage-server:50051")
}
