# Every workload and its pod template carry the recommended app.kubernetes.io labels listed in
# the tier table: selectors, NetworkPolicies, dashboards and `kubectl get -l` rely on them.
package sutra.required_labels

import data.sutra.lib.k8s

missing(lbls) := [l | some l in k8s.config.required_labels; object.get(lbls, l, "") == ""]

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	m := missing(k8s.labels(o))
	count(m) > 0
	msg := sprintf("%s lacks the labels %s: add them to metadata.labels", [k8s.describe(o), concat(", ", m)])
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	m := missing(k8s.pod_labels(o))
	count(m) > 0
	msg := sprintf("the pod template of %s lacks the labels %s: add them to its template metadata.labels", [k8s.describe(o), concat(", ", m)])
}
