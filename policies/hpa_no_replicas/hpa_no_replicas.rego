# A workload an HPA manages sets no spec.replicas: a fixed count in git fights the autoscaler
# (every sync resets the pods to it). Argo CD ignores /spec/replicas for these workloads.
package sutra.hpa_no_replicas

import data.sutra.lib.k8s

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	k8s.hpa_managed(o)
	replicas := o.spec.replicas
	msg := sprintf(
		"%s is autoscaled but sets spec.replicas %v: remove spec.replicas (the HorizontalPodAutoscaler owns it)",
		[k8s.describe(o), replicas],
	)
}
