# Workloads the tier table runs at a fixed size (no HPA) set exactly that spec.replicas, so the
# tier's capacity is what the table says and not a default of 1.
package sutra.fixed_replicas

import data.sutra.lib.k8s

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	want := k8s.table_entry(o).replicas
	have := object.get(o, ["spec", "replicas"], "unset")
	have != want
	msg := sprintf("%s has spec.replicas %v: the %s tier runs it at %v, set spec.replicas: %v", [k8s.describe(o), have, k8s.tier, want, want])
}
