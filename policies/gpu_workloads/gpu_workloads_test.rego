package sutra.gpu_workloads

import data.sutra.lib.fixtures as f
import data.sutra.lib.k8s

# Tiers from the table, never by name: one whose row gives sutra-hybrid GPUs, one that gives none.
gpu_tiers := [t | some t, row in k8s.config.tiers; "sutra-hybrid" in object.get(row, ["gpu", "workloads"], [])]

cpu_tiers := [t | some t, row in k8s.config.tiers; count(object.get(row, ["gpu", "workloads"], [])) == 0]

container := "/spec/template/spec/containers/0"

request_gpu := [
	{"op": "add", "path": concat("", [container, "/resources/requests/nvidia.com~1gpu"]), "value": "1"},
	{"op": "add", "path": concat("", [container, "/resources/limits/nvidia.com~1gpu"]), "value": "1"},
]

placement := [
	{"op": "add", "path": "/spec/template/spec/nodeSelector", "value": {"nvidia.com/gpu.present": "true"}},
	{"op": "add", "path": "/spec/template/spec/tolerations", "value": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
]

on_gpus(t, n, ops) := f.patch(f.tier_objects(t), "Deployment", n, ops)

denials(t, objs) := {v | some v in deny with input as f.tier_input(t, objs)}

test_table_has_a_gpu_tier_and_a_cpu_tier if {
	count(gpu_tiers) > 0
	count(cpu_tiers) > 0
}

test_compliant_tiers_allowed if {
	every t, _ in k8s.config.tiers {
		objs := f.tier_objects(t)
		count(denials(t, objs)) == 0
	}
}

test_hybrid_on_gpus_in_its_tier_allowed if {
	t := gpu_tiers[0]
	objs := on_gpus(t, "sutra-hybrid", array.concat(request_gpu, placement))
	count(denials(t, objs)) == 0
}

test_hybrid_on_gpus_in_a_tier_without_them_denied if {
	t := cpu_tiers[0]
	objs := on_gpus(t, "sutra-hybrid", array.concat(request_gpu, placement))
	some v in denials(t, objs)
	v.name == "sutra-hybrid"
	contains(v.msg, "allows it only for []")
}

test_another_workload_on_gpus_denied if {
	t := gpu_tiers[0]
	objs := on_gpus(t, "sutra-api", array.concat(request_gpu, placement))
	some v in denials(t, objs)
	v.name == "sutra-api"
	contains(v.msg, "requests nvidia.com/gpu but")
}

test_gpu_without_toleration_denied if {
	t := gpu_tiers[0]
	objs := on_gpus(t, "sutra-hybrid", array.concat(request_gpu, [placement[0]]))
	msgs := {v.msg | some v in denials(t, objs)}
	count(msgs) == 1
	some m in msgs
	contains(m, "without tolerating")
}

test_gpu_without_node_selector_denied if {
	t := gpu_tiers[0]
	objs := on_gpus(t, "sutra-hybrid", array.concat(request_gpu, [placement[1]]))
	msgs := {v.msg | some v in denials(t, objs)}
	count(msgs) == 1
	some m in msgs
	contains(m, "without selecting GPU nodes")
}

test_request_without_equal_limit_denied if {
	t := gpu_tiers[0]
	objs := on_gpus(t, "sutra-hybrid", array.concat([request_gpu[0]], placement))
	some v in denials(t, objs)
	contains(v.msg, "limits it to nothing")
}

test_gpu_in_an_init_container_denied if {
	t := gpu_tiers[0]
	init := {
		"name": "warm",
		"image": "x",
		"resources": {"limits": {"nvidia.com/gpu": "1"}},
	}
	objs := on_gpus(t, "sutra-api", [{"op": "add", "path": "/spec/template/spec/initContainers", "value": [init]}])
	some v in denials(t, objs)
	v.name == "sutra-api"
}
