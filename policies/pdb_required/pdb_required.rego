# Every workload that can run more than one pod has a PodDisruptionBudget selecting its pods that
# still lets a node drain: without one a drain can evict every replica at once; with one that
# allows no eviction, node upgrades hang.
package sutra.pdb_required

import data.sutra.lib.k8s

pdbs := [o | some o in k8s.objects; o.kind == "PodDisruptionBudget"]

covers(pdb, o) if {
	k8s.namespace(pdb) == k8s.namespace(o)
	not k8s.selector_empty(object.get(pdb, ["spec", "selector"], {}))
	k8s.selector_matches(pdb.spec.selector, k8s.pod_labels(o))
}

replicated := [o | some o in k8s.workloads; o.kind in k8s.replicated_kinds; k8s.max_pods(o) > 1]

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in replicated
	count([p | some p in pdbs; covers(p, o)]) == 0
	msg := sprintf(
		"%s can run %v pods but no PodDisruptionBudget selects them: add one (maxUnavailable: 1) whose selector matches its pod labels",
		[k8s.describe(o), k8s.max_pods(o)],
	)
}

# A budget that never allows an eviction, judged at the workload's fewest pods.
blocks(pdb, o) if pdb.spec.maxUnavailable in {0, "0%"}

blocks(pdb, o) if {
	is_number(pdb.spec.minAvailable)
	pdb.spec.minAvailable >= k8s.min_pods(o)
}

blocks(pdb, o) if pdb.spec.minAvailable == "100%"

deny contains {"kind": p.kind, "name": p.metadata.name, "msg": msg} if {
	some o in replicated
	some p in pdbs
	covers(p, o)
	blocks(p, o)
	msg := sprintf(
		"PodDisruptionBudget %s allows no eviction of %s (which may run only %v pods): use maxUnavailable: 1",
		[p.metadata.name, k8s.describe(o), k8s.min_pods(o)],
	)
}
