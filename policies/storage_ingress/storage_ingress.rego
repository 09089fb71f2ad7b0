# Only the storage clients named in the tier table (storage.clients) may open the storage
# server's gRPC port: every ingress rule of a NetworkPolicy selecting the storage pods that
# admits that port must admit only pods of those workloads, in this namespace.
package sutra.storage_ingress

import data.sutra.lib.k8s

storage := k8s.config.storage

# The writer of every storage shard (shard 0's is `storage.workload`).
storage_workloads := [o |
	some o in k8s.workloads
	k8s.shard_index(storage.workload, o.metadata.name)
]

# The storage container port names that carry the gRPC port (NetworkPolicies may name ports).
port_names contains p.name if {
	some o in storage_workloads
	some c in k8s.containers(o)
	some p in object.get(c, "ports", [])
	p.containerPort == storage.port
	p.name
}

selects_storage(p) if {
	some o in storage_workloads
	k8s.namespace(p) == k8s.namespace(o)
	k8s.selector_matches(object.get(p, ["spec", "podSelector"], {}), k8s.pod_labels(o))
}

# An ingress rule admits the gRPC port when it lists no ports, or lists it by number or name
# (or a range around it).
admits_port(rule) if count(object.get(rule, "ports", [])) == 0

admits_port(rule) if {
	some p in rule.ports
	not p.port
}

admits_port(rule) if {
	some p in rule.ports
	p.port == storage.port
}

admits_port(rule) if {
	some p in rule.ports
	p.port in port_names
}

admits_port(rule) if {
	some p in rule.ports
	is_number(p.port)
	p.port <= storage.port
	storage.port <= object.get(p, "endPort", p.port)
}

clients := {n | some n in storage.clients}

# A client, or a client's copy for one storage shard (the snapshot job of shard i).
client(n) if n in clients

client(n) if {
	some c in clients
	k8s.shard_index(c, n)
}

# Why a peer of a rule admits someone other than a storage client (undefined when it does not).
problem(peer) := "an ipBlock" if {
	peer.ipBlock
} else := "a namespaceSelector (pods of other namespaces)" if {
	peer.namespaceSelector
} else := "an empty podSelector (every pod)" if {
	k8s.selector_empty(object.get(peer, "podSelector", {}))
} else := sprintf("a podSelector that matches %s", [concat(", ", sort(outsiders))]) if {
	outsiders := {k8s.name(o) |
		some o in k8s.workloads
		k8s.selector_matches(peer.podSelector, k8s.pod_labels(o))
		not client(k8s.name(o))
	}
	count(outsiders) > 0
}

deny contains {"kind": p.kind, "name": p.metadata.name, "msg": msg} if {
	some p in k8s.network_policies
	selects_storage(p)
	some rule in object.get(p, ["spec", "ingress"], [])
	admits_port(rule)
	count(object.get(rule, "from", [])) == 0
	msg := sprintf(
		"NetworkPolicy %s admits every source to %s port %v: list only podSelectors of %s in its from",
		[p.metadata.name, storage.workload, storage.port, concat(", ", storage.clients)],
	)
}

deny contains {"kind": p.kind, "name": p.metadata.name, "msg": msg} if {
	some p in k8s.network_policies
	selects_storage(p)
	some rule in object.get(p, ["spec", "ingress"], [])
	admits_port(rule)
	some peer in object.get(rule, "from", [])
	why := problem(peer)
	msg := sprintf(
		"NetworkPolicy %s admits %s to %s port %v: only %s may reach it, narrow the rule to their pods or to other ports",
		[p.metadata.name, why, storage.workload, storage.port, concat(", ", storage.clients)],
	)
}
