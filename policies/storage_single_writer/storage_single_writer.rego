# The storage server is the single writer of its store: exactly one pod, as a StatefulSet, with
# its own ReadWriteOnce volume big enough for the tier, never autoscaled. Two writers on one
# store (or a pod without its volume) lose data.
package sutra.storage_single_writer

import data.sutra.lib.k8s

storage_name := k8s.config.storage.workload

storage_sets := [o | some o in k8s.objects; o.kind == "StatefulSet"; o.metadata.name == storage_name]

deny contains {"kind": "StatefulSet", "name": storage_name, "msg": msg} if {
	count(storage_sets) == 0
	msg := sprintf("StatefulSet %s is missing: the storage server must run as a StatefulSet", [storage_name])
}

deny contains {"kind": o.kind, "name": storage_name, "msg": msg} if {
	some o in k8s.objects
	o.kind in (k8s.workload_kinds - {"StatefulSet", "CronJob", "Job"})
	o.metadata.name == storage_name
	msg := sprintf("%s must not be a %s: run the single writer as a StatefulSet with replicas 1", [k8s.describe(o), o.kind])
}

deny contains {"kind": o.kind, "name": storage_name, "msg": msg} if {
	some o in storage_sets
	object.get(o, ["spec", "replicas"], null) != 1
	msg := sprintf("%s has replicas %v: set spec.replicas to exactly 1 (one writer per store)", [k8s.describe(o), object.get(o, ["spec", "replicas"], "unset")])
}

deny contains {"kind": h.kind, "name": h.metadata.name, "msg": msg} if {
	some h in k8s.hpas
	h.spec.scaleTargetRef.name == storage_name
	msg := sprintf("HorizontalPodAutoscaler %s scales %s: remove it, the single writer is never autoscaled", [h.metadata.name, storage_name])
}

min_bytes := k8s.config.storage.min_volume_gi * 1073741824

access_mode := k8s.config.storage.access_mode

mounted(o, vct_name) if {
	some c in k8s.containers(o)
	some m in object.get(c, "volumeMounts", [])
	m.name == vct_name
}

# A claim template the server can keep its store on.
good_claim(o, vct) if {
	vct.spec.accessModes == [access_mode]
	k8s.quantity(vct.spec.resources.requests.storage) >= min_bytes
	mounted(o, vct.metadata.name)
}

deny contains {"kind": o.kind, "name": storage_name, "msg": msg} if {
	some o in storage_sets
	not any_good_claim(o)
	msg := sprintf(
		"%s has no volumeClaimTemplate of at least %vGi with accessModes [%s] mounted by its container: add one (e.g. storage-data mounted at /var/lib/sutra)",
		[k8s.describe(o), k8s.config.storage.min_volume_gi, access_mode],
	)
}

any_good_claim(o) if {
	some vct in object.get(o, ["spec", "volumeClaimTemplates"], [])
	good_claim(o, vct)
}
