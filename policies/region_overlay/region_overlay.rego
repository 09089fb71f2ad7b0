# A region overlay (regions/<region>/<tier>) is what the table's `regions:` row says: the region
# lists the tier; the client's Ingress answers the tier's `host` there; every volume (claims and
# the store's volumeClaimTemplates) has the region's `storage_class`; every HPA workload is kept
# to the region's `zones`; and where another region is the storage primary, the storage-server
# Service names the primary's `storage_host` and NetworkPolicy storage-remote opens port 50051
# to the primary's `network` only. `sutra regions generate` writes the overlays from the table;
# this rule catches a hand edit or a stale file before Argo CD deploys it.
package sutra.region_overlay

import data.sutra.lib.k8s

row := k8s.region_row

place := k8s.placement

primary := [r | some r, region in k8s.config.regions; region.tiers[k8s.tier].storage == "primary"][0]

primary_place := k8s.config.regions[primary].tiers[k8s.tier]

deny contains {"kind": "Region", "name": k8s.region, "msg": msg} if {
	k8s.region != ""
	not row
	msg := sprintf("region %s is not in the tier table's regions: add it, or remove regions/%s", [k8s.region, k8s.region])
}

deny contains {"kind": "Region", "name": k8s.region, "msg": msg} if {
	row
	not place
	msg := sprintf("region %s does not run the %s tier (tier table regions): list it there, or remove regions/%s/%s", [k8s.region, k8s.tier, k8s.region, k8s.tier])
}

ingresses := [o | some o in k8s.objects; o.kind == "Ingress"; o.metadata.name == "sutra-client"]

deny contains {"kind": "Ingress", "name": "sutra-client", "msg": msg} if {
	place
	count(ingresses) == 0
	msg := sprintf("Ingress sutra-client is missing: the %s tier answers at %s in region %s", [k8s.tier, place.host, k8s.region])
}

hosts(o) := {h | some r in object.get(o, ["spec", "rules"], []); h := object.get(r, "host", "")} | {h |
	some t in object.get(o, ["spec", "tls"], [])
	some h in object.get(t, "hosts", [])
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	place
	some o in ingresses
	some h in hosts(o)
	h != place.host
	msg := sprintf("Ingress %s answers %q: the %s tier's host in region %s is %s (tier table)", [o.metadata.name, h, k8s.tier, k8s.region, place.host])
}

claims contains {"o": o, "what": sprintf("PersistentVolumeClaim %s", [o.metadata.name]), "class": object.get(o, ["spec", "storageClassName"], "the default class")} if {
	some o in k8s.objects
	o.kind == "PersistentVolumeClaim"
}

claims contains {"o": o, "what": sprintf("%s volumeClaimTemplate %s", [k8s.describe(o), t.metadata.name]), "class": object.get(t, ["spec", "storageClassName"], "the default class")} if {
	some o in k8s.workloads
	some t in object.get(o, ["spec", "volumeClaimTemplates"], [])
}

deny contains {"kind": c.o.kind, "name": c.o.metadata.name, "msg": msg} if {
	row
	some c in claims
	c.class != row.storage_class
	msg := sprintf("%s uses %s: volumes in region %s use storage class %s (tier table)", [c.what, c.class, k8s.region, row.storage_class])
}

zones(o) := {v |
	some term in object.get(k8s.pod_spec(o), ["affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"], [])
	some e in object.get(term, "matchExpressions", [])
	e.key == "topology.kubernetes.io/zone"
	e.operator == "In"
	some v in e.values
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	row
	some o in k8s.workloads
	k8s.hpa_managed(o)
	want := {z | some z in row.zones}
	zones(o) != want
	msg := sprintf("%s runs in zones %v: region %s has %v (tier table zones; a required node affinity on topology.kubernetes.io/zone In them)", [k8s.describe(o), sort(zones(o)), k8s.region, sort(want)])
}

storage_services := [o | some o in k8s.objects; o.kind == "Service"; o.metadata.name == k8s.config.storage.workload]

deny contains {"kind": "Service", "name": o.metadata.name, "msg": msg} if {
	place.storage == "remote"
	some o in storage_services
	have := sprintf("%s %s", [object.get(o, ["spec", "type"], "ClusterIP"), object.get(o, ["spec", "externalName"], "")])
	have != sprintf("ExternalName %s", [primary_place.storage_host])
	msg := sprintf("Service %s is %s: in region %s the store is the primary's (%s), make it an ExternalName for %s", [o.metadata.name, trim_space(have), k8s.region, primary, primary_place.storage_host])
}

deny contains {"kind": "Service", "name": k8s.config.storage.workload, "msg": msg} if {
	place.storage == "remote"
	count(storage_services) == 0
	msg := sprintf("Service %s is missing: the storage clients dial it, as an ExternalName for %s", [k8s.config.storage.workload, primary_place.storage_host])
}

remote_policies := [o | some o in k8s.network_policies; o.metadata.name == "storage-remote"]

cidrs(p) := {b.cidr | some rule in object.get(p, ["spec", "egress"], []); some peer in object.get(rule, "to", []); b := peer.ipBlock}

deny contains {"kind": "NetworkPolicy", "name": "storage-remote", "msg": msg} if {
	place.storage == "remote"
	count(remote_policies) == 0
	msg := sprintf("NetworkPolicy storage-remote is missing: the storage clients need port 50051 to %s (region %s)", [k8s.config.regions[primary].network, primary])
}

deny contains {"kind": p.kind, "name": p.metadata.name, "msg": msg} if {
	place.storage == "remote"
	some p in remote_policies
	cidrs(p) != {k8s.config.regions[primary].network}
	msg := sprintf("NetworkPolicy %s opens %v: only the storage primary's network %s (region %s)", [p.metadata.name, sort(cidrs(p)), k8s.config.regions[primary].network, primary])
}
