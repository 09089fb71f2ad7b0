# Every container (init containers too) requests and limits CPU and memory, with each limit at
# least its request: the scheduler and the HPA's utilisation targets need requests, and limits
# keep one pod from starving its node.
#
# The checks on one object are in admission.rego, which Gatekeeper also enforces in the cluster.
package sutra.container_resources

import data.sutra.container_resources.admission
import data.sutra.lib.k8s

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.objects
	some msg in admission.messages(o, {})
}
