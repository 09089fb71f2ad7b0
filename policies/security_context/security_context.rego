# Pods run as a non-root user under the RuntimeDefault seccomp profile, and every container has
# a read-only root filesystem, no privilege escalation and drops ALL capabilities: a compromised
# process can then change neither its image nor its node (restricted Pod Security Standard).
#
# The checks on one object are in admission.rego, which Gatekeeper also enforces in the cluster.
package sutra.security_context

import data.sutra.lib.k8s
import data.sutra.security_context.admission

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.objects
	some msg in admission.messages(o, {})
}
