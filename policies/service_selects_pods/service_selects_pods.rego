# Every Service's selector matches the pod template of a workload in the same namespace, and
# each of its ports targets a port those pods declare: otherwise the Service has no endpoints
# and its callers fail at run time, not at review.
package sutra.service_selects_pods

import data.sutra.lib.k8s

services := [o | some o in k8s.objects; o.kind == "Service"]

selector(s) := object.get(s, ["spec", "selector"], {})

# A Service without a selector (an ExternalName, or one with hand-made endpoints) has no
# backends here: it sends nothing to the tier's pods.
backends(s) := [o |
	count(selector(s)) > 0
	some o in k8s.workloads
	k8s.namespace(o) == k8s.namespace(s)
	k8s.map_selects(selector(s), k8s.pod_labels(o))
]

deny contains {"kind": s.kind, "name": s.metadata.name, "msg": msg} if {
	some s in services
	count(selector(s)) > 0
	count(backends(s)) == 0
	msg := sprintf(
		"Service %s selects %v but no pod template in the tier has those labels: fix spec.selector or the workload's pod labels",
		[s.metadata.name, selector(s)],
	)
}

# The port numbers and names the selected pods declare.
pod_ports(s) := {x |
	some o in backends(s)
	some c in k8s.containers(o)
	some p in object.get(c, "ports", [])
	some x in [p.containerPort, object.get(p, "name", p.containerPort)]
}

deny contains {"kind": s.kind, "name": s.metadata.name, "msg": msg} if {
	some s in services
	count(backends(s)) > 0
	some port in object.get(s, ["spec", "ports"], [])
	target := object.get(port, "targetPort", port.port)
	not target in pod_ports(s)
	msg := sprintf(
		"Service %s sends port %v to targetPort %v, which its pods (%s) do not declare: fix targetPort or add the containerPort",
		[s.metadata.name, port.port, target, concat(", ", sort({k8s.name(o) | some o in backends(s)}))],
	)
}
