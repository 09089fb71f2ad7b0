# Every container (init containers too) requests and limits CPU and memory, with each limit at
# least its request: the scheduler and the HPA's utilisation targets need requests, and limits
# keep one pod from starving its node.
package sutra.container_resources

import data.sutra.lib.k8s

resources := ["cpu", "memory"]

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	some entry in k8s.all_containers(o)
	some section in ["requests", "limits"]
	some r in resources
	not entry.container.resources[section][r]
	msg := sprintf("container %s of %s has no %s %s: set resources.%s.%s", [entry.container.name, k8s.describe(o), r, section, section, r])
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	some entry in k8s.all_containers(o)
	some section in ["requests", "limits"]
	some r in resources
	q := entry.container.resources[section][r]
	not k8s.quantity(q)
	msg := sprintf(
		"container %s of %s has resources.%s.%s %v, which is not a quantity: use e.g. 500m or 1 for cpu, 512Mi or 1Gi for memory",
		[entry.container.name, k8s.describe(o), section, r, q],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	some entry in k8s.all_containers(o)
	some r in resources
	request := entry.container.resources.requests[r]
	limit := entry.container.resources.limits[r]
	k8s.quantity(limit) < k8s.quantity(request)
	msg := sprintf(
		"container %s of %s limits %s to %v, below its request %v: raise resources.limits.%s to at least the request",
		[entry.container.name, k8s.describe(o), r, limit, request, r],
	)
}
