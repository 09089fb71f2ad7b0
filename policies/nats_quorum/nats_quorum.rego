# The storage log (NATS JetStream, storage.replication.log of the tier table) accepts an append
# only while a majority of its servers agree (Raft). With at least `min_log_replicas` servers (3),
# never two on one node, and a PodDisruptionBudget that keeps a majority up, one lost node or
# one drain leaves the log writable; with fewer, or a budget that lets a drain take two, the
# writer stops until they are back.
package sutra.nats_quorum

import data.sutra.lib.k8s

log := k8s.replication.log

minimum := k8s.replication.min_log_replicas

# The log's StatefulSets where the tier (in this region) runs it.
servers := [o |
	k8s.table[log]
	some o in k8s.workloads
	o.kind == "StatefulSet"
	o.metadata.name == log
]

replicas(o) := object.get(o, ["spec", "replicas"], 1)

majority(o) := floor(replicas(o) / 2) + 1

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in servers
	replicas(o) < minimum
	msg := sprintf(
		"%s runs %v servers: the log needs at least %v (storage.replication.min_log_replicas) so that one lost server leaves a majority; set spec.replicas to %v",
		[k8s.describe(o), replicas(o), minimum, minimum],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in servers
	replicas(o) % 2 == 0
	msg := sprintf(
		"%s runs %v servers, an even count: it survives no more losses than %v; use an odd count",
		[k8s.describe(o), replicas(o), replicas(o) - 1],
	)
}

pdbs := [p | some p in k8s.objects; p.kind == "PodDisruptionBudget"]

covers(p, o) if {
	k8s.namespace(p) == k8s.namespace(o)
	not k8s.selector_empty(object.get(p, ["spec", "selector"], {}))
	k8s.selector_matches(p.spec.selector, k8s.pod_labels(o))
}

# A budget that keeps a majority of the servers up through evictions (integer counts only: a
# percentage rounds, and the rounding is easy to get wrong for 3 or 5 pods).
keeps_majority(p, o) if {
	is_number(p.spec.minAvailable)
	p.spec.minAvailable >= majority(o)
}

keeps_majority(p, o) if {
	is_number(p.spec.maxUnavailable)
	p.spec.maxUnavailable <= replicas(o) - majority(o)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in servers
	count([p | some p in pdbs; covers(p, o)]) == 0
	msg := sprintf(
		"%s has no PodDisruptionBudget: add one selecting its pods with minAvailable: %v (a majority of %v), or a drain may take the log's quorum",
		[k8s.describe(o), majority(o), replicas(o)],
	)
}

deny contains {"kind": p.kind, "name": p.metadata.name, "msg": msg} if {
	some o in servers
	some p in pdbs
	covers(p, o)
	not keeps_majority(p, o)
	msg := sprintf(
		"PodDisruptionBudget %s lets evictions take the majority of %s's %v servers: set minAvailable: %v (an integer)",
		[p.metadata.name, k8s.describe(o), replicas(o), majority(o)],
	)
}

# Never two servers on one node: a required pod anti-affinity on the hostname, selecting its own pods.
spread_by_node(o) if {
	some term in object.get(k8s.pod_spec(o), ["affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution"], [])
	term.topologyKey == "kubernetes.io/hostname"
	k8s.selector_matches(object.get(term, "labelSelector", {}), k8s.pod_labels(o))
	not k8s.selector_empty(object.get(term, "labelSelector", {}))
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in servers
	not spread_by_node(o)
	msg := sprintf(
		"%s may run two servers on one node, whose loss would take two votes: add a requiredDuringSchedulingIgnoredDuringExecution pod anti-affinity on kubernetes.io/hostname selecting its pods",
		[k8s.describe(o)],
	)
}
