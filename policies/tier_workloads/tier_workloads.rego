# The tier runs exactly the workloads of the tier table, each as the kind the table gives it;
# a Deployment or StatefulSet the table does not know has no agreed size.
package sutra.tier_workloads

import data.sutra.lib.k8s

deny contains {"kind": entry.kind, "name": n, "msg": msg} if {
	some n, entry in k8s.table
	count([o | some o in k8s.objects; o.kind == entry.kind; o.metadata.name == n]) == 0
	msg := sprintf("%s %s is missing: the %s tier runs it (tier table), add it to the overlay", [entry.kind, n, k8s.tier])
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	o.kind in k8s.replicated_kinds
	not k8s.table[o.metadata.name]
	msg := sprintf("%s is not in the tier table: add it to policies/data/tiers.yaml for every tier", [k8s.describe(o)])
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	entry := k8s.table[o.metadata.name]
	o.kind != entry.kind
	msg := sprintf("%s should be a %s (tier table): change its kind", [k8s.describe(o), entry.kind])
}
