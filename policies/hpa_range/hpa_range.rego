# Every HorizontalPodAutoscaler scales a workload of this tier within exactly the range the tier
# table gives it, and every workload the table autoscales has one (and only one) HPA.
package sutra.hpa_range

import data.sutra.lib.k8s

hpa_min(h) := object.get(h, ["spec", "minReplicas"], 1)

hpa_max(h) := object.get(h, ["spec", "maxReplicas"], 0)

target_exists(h) if {
	ref := h.spec.scaleTargetRef
	count(k8s.find(ref.kind, ref.name, k8s.namespace(h))) > 0
}

ref_text(h) := sprintf("%v %v", [
	object.get(h, ["spec", "scaleTargetRef", "kind"], "<no kind>"),
	object.get(h, ["spec", "scaleTargetRef", "name"], "<no name>"),
])

deny contains {"kind": h.kind, "name": h.metadata.name, "msg": msg} if {
	some h in k8s.hpas
	not target_exists(h)
	msg := sprintf(
		"HorizontalPodAutoscaler %s targets %s, which is not in this tier: point scaleTargetRef at an existing workload",
		[h.metadata.name, ref_text(h)],
	)
}

deny contains {"kind": h.kind, "name": h.metadata.name, "msg": msg} if {
	some h in k8s.hpas
	hpa_min(h) > hpa_max(h)
	msg := sprintf(
		"HorizontalPodAutoscaler %s has minReplicas %v above maxReplicas %v: make minReplicas <= maxReplicas",
		[h.metadata.name, hpa_min(h), hpa_max(h)],
	)
}

deny contains {"kind": h.kind, "name": h.metadata.name, "msg": msg} if {
	some h in k8s.hpas
	entry := k8s.table[h.spec.scaleTargetRef.name]
	want := entry.hpa
	[hpa_min(h), hpa_max(h)] != [want.min, want.max]
	msg := sprintf(
		"HorizontalPodAutoscaler %s scales %s between %v and %v: the %s tier wants minReplicas %v and maxReplicas %v",
		[h.metadata.name, ref_text(h), hpa_min(h), hpa_max(h), k8s.tier, want.min, want.max],
	)
}

deny contains {"kind": h.kind, "name": h.metadata.name, "msg": msg} if {
	some h in k8s.hpas
	entry := k8s.table[h.spec.scaleTargetRef.name]
	not entry.hpa
	msg := sprintf(
		"HorizontalPodAutoscaler %s scales %s, which the %s tier runs at a fixed %v replicas: remove the HPA",
		[h.metadata.name, ref_text(h), k8s.tier, entry.replicas],
	)
}

deny contains {"kind": h.kind, "name": h.metadata.name, "msg": msg} if {
	some h in k8s.hpas
	target_exists(h)
	not k8s.table[h.spec.scaleTargetRef.name]
	msg := sprintf(
		"HorizontalPodAutoscaler %s scales %s, which the tier table does not list: add it to policies/data/tiers.yaml or remove the HPA",
		[h.metadata.name, ref_text(h)],
	)
}

deny contains {"kind": entry.kind, "name": n, "msg": msg} if {
	some n, entry in k8s.table
	entry.hpa
	count([h | some h in k8s.hpas; h.spec.scaleTargetRef.kind == entry.kind; h.spec.scaleTargetRef.name == n]) == 0
	msg := sprintf(
		"%s %s has no HorizontalPodAutoscaler: the %s tier autoscales it from %v to %v replicas, add one",
		[entry.kind, n, k8s.tier, entry.hpa.min, entry.hpa.max],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	count(k8s.scaling_hpas(o)) > 1
	names := concat(", ", sort([h.metadata.name | some h in k8s.scaling_hpas(o)]))
	msg := sprintf("%s is scaled by several HorizontalPodAutoscalers (%s): keep one", [k8s.describe(o), names])
}
