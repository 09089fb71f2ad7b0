# GPUs (`nvidia.com/gpu`) go only to the workloads the tier's row of the table lists under
# `gpu.workloads` (sutra-hybrid in high, through components/hybrid-gpu), and a pod that asks
# for one must also tolerate the GPU nodes' NoSchedule taint and select them by their
# `nvidia.com/gpu.present` label. GPU nodes are the most expensive in a cluster: a request
# outside the plan takes one from the workload it was bought for, and a request without the
# toleration never schedules while one without the selector may wait on a CPU node pool.
# The request is in limits (extended resources are not overcommitted) and equals any request.
package sutra.gpu_workloads

import data.sutra.lib.k8s

gpu := "nvidia.com/gpu"

allowed := object.get(k8s.config.tiers[k8s.tier], ["gpu", "workloads"], [])

gpu_containers(o) := [c |
	some entry in k8s.all_containers(o)
	c := entry.container
	some section in ["requests", "limits"]
	object.get(c, ["resources", section, gpu], null) != null
]

requests_gpu(o) if count(gpu_containers(o)) > 0

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	requests_gpu(o)
	not k8s.name(o) in allowed
	msg := sprintf(
		"%s requests %s but the %s tier's row of the tier table allows it only for %v: remove the request (or add the workload under gpu.workloads)",
		[k8s.describe(o), gpu, k8s.tier, allowed],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	requests_gpu(o)
	not tolerates_gpu(k8s.pod_spec(o))
	msg := sprintf(
		"%s requests %s without tolerating the GPU nodes' taint: add the toleration {key: %s, operator: Exists, effect: NoSchedule}",
		[k8s.describe(o), gpu, gpu],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	requests_gpu(o)
	object.get(k8s.pod_spec(o), ["nodeSelector", "nvidia.com/gpu.present"], "") != "true"
	msg := sprintf(
		"%s requests %s without selecting GPU nodes: set nodeSelector nvidia.com/gpu.present: \"true\"",
		[k8s.describe(o), gpu],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	some entry in k8s.all_containers(o)
	resources := object.get(entry.container, "resources", {})
	request := object.get(resources, ["requests", gpu], null)
	request != null
	object.get(resources, ["limits", gpu], null) != request
	msg := sprintf(
		"container %s of %s requests %s %v but limits it to %v: set the same count in limits (extended resources are not overcommitted)",
		[entry.container.name, k8s.describe(o), gpu, request, object.get(resources, ["limits", gpu], "nothing")],
	)
}

tolerates_gpu(spec) if {
	some t in object.get(spec, "tolerations", [])
	t.key == gpu
	object.get(t, "effect", "") in {"NoSchedule", ""}
	object.get(t, "operator", "Equal") == "Exists"
}

tolerates_gpu(spec) if {
	some t in object.get(spec, "tolerations", [])
	t.key == gpu
	object.get(t, "effect", "") in {"NoSchedule", ""}
	object.get(t, "operator", "Equal") == "Equal"
	object.get(t, "value", "") == "present"
}
