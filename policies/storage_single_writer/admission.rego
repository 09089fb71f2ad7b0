# The storage_single_writer checks on one object, shared by the gate (storage_single_writer.rego,
# over a whole tier) and the Gatekeeper template generated from this file (one object at
# admission). `params` carries the table's values: workload, minVolumeGi, accessMode.
#
# A writer is the workload named `workload`, any workload whose pods are labelled
# app.kubernetes.io/name: <workload>, and any workload of the replicated store that appends to
# the log: a container with SUTRA_STORAGE_NATS_URL whose SUTRA_STORAGE_ROLE is not `follower`
# (the server's default role is writer), or that serves a storage shard (SUTRA_STORAGE_SHARD). Read followers (SUTRA_STORAGE_ROLE=follower, another
# name and label) may run several pods.
package sutra.storage_single_writer.admission

import data.sutra.lib.manifest

# The kinds the checks look at: the Gatekeeper constraint matches exactly these.
kinds := (manifest.workload_kinds - {"CronJob", "Job"}) | {"HorizontalPodAutoscaler"}

# What is wrong with object o, one message per problem (empty when compliant).
messages(o, params) := ((wrong_kind(o, params) | replicas(o, params)) | autoscaled(o, params)) | claims(o, params)

wrong_kind(o, params) := {msg |
	o.kind in (manifest.workload_kinds - {"StatefulSet", "CronJob", "Job"})
	writer(o, params)
	msg := sprintf("%s must not be a %s: run the single writer as a StatefulSet with replicas 1%s", [manifest.describe(o), o.kind, why(o, params)])
}

replicas(o, params) := {msg |
	o.kind == "StatefulSet"
	writer(o, params)
	object.get(o, ["spec", "replicas"], null) != 1
	msg := sprintf("%s has replicas %v: set spec.replicas to exactly 1 (one writer per store)%s", [manifest.describe(o), object.get(o, ["spec", "replicas"], "unset"), why(o, params)])
}

autoscaled(h, params) := {msg |
	h.kind == "HorizontalPodAutoscaler"
	h.spec.scaleTargetRef.name == params.workload
	msg := sprintf("HorizontalPodAutoscaler %s scales %s: remove it, the single writer is never autoscaled", [h.metadata.name, params.workload])
}

claims(o, params) := {msg |
	o.kind == "StatefulSet"
	writer(o, params)
	not any_good_claim(o, params)
	msg := sprintf(
		"%s has no volumeClaimTemplate of at least %vGi with accessModes [%s] mounted by its container: add one (e.g. storage-data mounted at /var/lib/sutra)",
		[manifest.describe(o), params.minVolumeGi, params.accessMode],
	)
}

mounted(o, vct_name) if {
	some c in manifest.containers(o)
	some m in object.get(c, "volumeMounts", [])
	m.name == vct_name
}

# A claim template the server can keep its store on.
good_claim(o, vct, params) if {
	vct.spec.accessModes == [params.accessMode]
	manifest.quantity(vct.spec.resources.requests.storage) >= params.minVolumeGi * 1073741824
	mounted(o, vct.metadata.name)
}

any_good_claim(o, params) if {
	some vct in object.get(o, ["spec", "volumeClaimTemplates"], [])
	good_claim(o, vct, params)
}

writer(o, params) if o.metadata.name == params.workload

writer(o, params) if manifest.pod_labels(o)["app.kubernetes.io/name"] == params.workload

writer(o, _) if appends_to_log(o)

writer(o, _) if claims_a_shard(o)

# A storage shard's server (SUTRA_STORAGE_SHARD set) in a role other than follower: shard i's
# writer, storage-server-<i>, under the same rules (one pod, its own volume).
claims_a_shard(o) if {
	some c in manifest.containers(o)
	some e in object.get(c, "env", [])
	e.name == "SUTRA_STORAGE_SHARD"
	env_value(c, "SUTRA_STORAGE_ROLE") != "follower"
}

appends_to_log(o) if {
	some c in manifest.containers(o)
	env_value(c, "SUTRA_STORAGE_NATS_URL") != ""
	env_value(c, "SUTRA_STORAGE_ROLE") != "follower"
}

env_value(c, n) := v if {
	some e in object.get(c, "env", [])
	e.name == n
	v := object.get(e, "value", "")
} else := ""

# Why a workload of another name counts as a writer, for its messages.
why(o, params) := "" if {
	o.metadata.name == params.workload
} else := sprintf(" (its pods are labelled app.kubernetes.io/name: %s)", [params.workload]) if {
	manifest.pod_labels(o)["app.kubernetes.io/name"] == params.workload
} else := "; it serves a storage shard (SUTRA_STORAGE_SHARD set and SUTRA_STORAGE_ROLE not follower): a read follower sets SUTRA_STORAGE_ROLE=follower" if {
	claims_a_shard(o)
	not appends_to_log(o)
} else := "; it appends to the storage log (SUTRA_STORAGE_NATS_URL set and SUTRA_STORAGE_ROLE not follower): a read follower sets SUTRA_STORAGE_ROLE=follower"
