# Every container of a long-running workload has a liveness and a readiness probe: without
# readiness a rollout or an HPA scale-up sends traffic to pods that cannot serve yet (the
# services' /ready fails while storage is unreachable); without liveness a hung pod stays.
# Jobs, CronJobs and init containers run to completion and need none.
package sutra.container_probes

import data.sutra.lib.k8s

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	o.kind in k8s.serving_kinds
	some c in k8s.containers(o)
	some probe in ["livenessProbe", "readinessProbe"]
	not c[probe]
	msg := sprintf("container %s of %s has no %s: add one (httpGet /health or /ready, or grpc for storage-server)", [c.name, k8s.describe(o), probe])
}
