# The namespace denies all ingress by default, and every pod template is selected by a
# NetworkPolicy of its own that names the traffic it accepts: a pod no policy names is either
# unreachable or, without the default deny, open to every pod in the cluster.
package sutra.network_policy_coverage

import data.sutra.lib.k8s

default_deny(p) if {
	k8s.selector_empty(object.get(p, ["spec", "podSelector"], {}))
	"Ingress" in object.get(p, ["spec", "policyTypes"], ["Ingress"])
	count(object.get(p, ["spec", "ingress"], [])) == 0
}

deny contains {"kind": "NetworkPolicy", "name": "default-deny", "msg": msg} if {
	count([p | some p in k8s.network_policies; default_deny(p)]) == 0
	msg := "NetworkPolicy default-deny is missing: add a NetworkPolicy with podSelector: {} and policyTypes [Ingress, Egress] and no rules"
}

selects(p, o) if {
	k8s.namespace(p) == k8s.namespace(o)
	sel := object.get(p, ["spec", "podSelector"], {})
	not k8s.selector_empty(sel)
	k8s.selector_matches(sel, k8s.pod_labels(o))
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	count([p | some p in k8s.network_policies; selects(p, o)]) == 0
	msg := sprintf(
		"no NetworkPolicy selects the pods of %s: add one whose podSelector matches its pod labels and lists the traffic it needs",
		[k8s.describe(o)],
	)
}
