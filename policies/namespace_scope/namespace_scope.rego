# Every object of a tier lives in the tiers' namespace (`namespace.name` of the tier table),
# except the objects the table lists under `namespace.outside` for that tier; nothing is
# cluster-scoped but that Namespace itself. The Argo CD project lets medium and high deploy into
# the shared monitoring namespace (for the prometheus-adapter rules) and would accept any
# whitelisted kind there: this rule keeps that door to the one listed object.
package sutra.namespace_scope

import data.sutra.lib.k8s

scope := k8s.config.namespace

# [kind, name, namespace] of each object this tier may ship outside its namespace.
listed contains [e.kind, e.name, e.namespace] if {
	some e in scope.outside
	k8s.tier in e.tiers
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.objects
	ns := k8s.namespace(o)
	ns != ""
	ns != scope.name
	not [o.kind, o.metadata.name, ns] in listed
	msg := sprintf(
		"%s is in namespace %s: the %s tier deploys into %s only, besides what policies/data/tiers.yaml lists under namespace.outside for it; move it, or list it there (and give the Argo CD project the destination)",
		[k8s.describe(o), ns, k8s.tier, scope.name],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.objects
	k8s.namespace(o) == ""
	not tier_namespace(o)
	msg := sprintf(
		"%s has no namespace: a tier's only cluster-scoped object is Namespace %s; give it namespace %s, or leave cluster-wide objects to the platform",
		[k8s.describe(o), scope.name, scope.name],
	)
}

tier_namespace(o) if {
	o.apiVersion == "v1"
	o.kind == "Namespace"
	o.metadata.name == scope.name
}
