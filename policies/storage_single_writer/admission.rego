# The storage_single_writer checks on one object, shared by the gate (storage_single_writer.rego,
# over a whole tier) and the Gatekeeper template generated from this file (one object at
# admission). `params` carries the table's values: workload, minVolumeGi, accessMode.
package sutra.storage_single_writer.admission

import data.sutra.lib.manifest

# The kinds the checks look at: the Gatekeeper constraint matches exactly these.
kinds := (manifest.workload_kinds - {"CronJob", "Job"}) | {"HorizontalPodAutoscaler"}

# What is wrong with object o, one message per problem (empty when compliant).
messages(o, params) := ((wrong_kind(o, params) | replicas(o, params)) | autoscaled(o, params)) | claims(o, params)

wrong_kind(o, params) := {msg |
	o.kind in (manifest.workload_kinds - {"StatefulSet", "CronJob", "Job"})
	o.metadata.name == params.workload
	msg := sprintf("%s must not be a %s: run the single writer as a StatefulSet with replicas 1", [manifest.describe(o), o.kind])
}

replicas(o, params) := {msg |
	o.kind == "StatefulSet"
	o.metadata.name == params.workload
	object.get(o, ["spec", "replicas"], null) != 1
	msg := sprintf("%s has replicas %v: set spec.replicas to exactly 1 (one writer per store)", [manifest.describe(o), object.get(o, ["spec", "replicas"], "unset")])
}

autoscaled(h, params) := {msg |
	h.kind == "HorizontalPodAutoscaler"
	h.spec.scaleTargetRef.name == params.workload
	msg := sprintf("HorizontalPodAutoscaler %s scales %s: remove it, the single writer is never autoscaled", [h.metadata.name, params.workload])
}

claims(o, params) := {msg |
	o.kind == "StatefulSet"
	o.metadata.name == params.workload
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
