# Every container of a long-running workload has a liveness and a readiness probe: without
# readiness a rollout or an HPA scale-up sends traffic to pods that cannot serve yet (the
# services' /ready fails while storage is unreachable); without liveness a hung pod stays.
# Jobs, CronJobs and init containers run to completion and need none.
#
# The checks on one object are in admission.rego, which Gatekeeper also enforces in the cluster.
package sutra.container_probes

import data.sutra.container_probes.admission
import data.sutra.lib.k8s

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.objects
	some msg in admission.messages(o, {})
}
