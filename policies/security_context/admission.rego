# The security_context checks on one object, shared by the gate (security_context.rego, over a
# whole tier) and the Gatekeeper template generated from this file (one object at admission).
package sutra.security_context.admission

import data.sutra.lib.manifest

# The kinds the checks look at: the Gatekeeper constraint matches exactly these.
kinds := manifest.workload_kinds

# What is wrong with object o, one message per problem (empty when compliant).
messages(o, _) := {msg |
	o.kind in kinds
	some entry in manifest.all_containers(o)
	some problem in problems(o, entry.container)
	msg := sprintf("container %s of %s %s", [entry.container.name, manifest.describe(o), problem])
}

# A container's setting, else the pod's.
effective(o, c, key) := c.securityContext[key] if {
	_ = c.securityContext[key]
} else := manifest.pod_spec(o).securityContext[key]

problems(o, c) := {p |
	some check in checks
	not passes(o, c, check)
	p := fixes[check]
}

checks := [
	"runAsNonRoot", "runAsUser", "seccompProfile", "readOnlyRootFilesystem",
	"allowPrivilegeEscalation", "capabilities", "privileged",
]

fixes := {
	"runAsNonRoot": "may run as root: set securityContext.runAsNonRoot: true (pod or container)",
	"runAsUser": "runs as uid 0: set securityContext.runAsUser to a non-zero uid (10001)",
	"seccompProfile": "has no RuntimeDefault seccomp profile: set securityContext.seccompProfile.type: RuntimeDefault (pod or container)",
	"readOnlyRootFilesystem": "has a writable root filesystem: set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where it writes",
	"allowPrivilegeEscalation": "allows privilege escalation: set securityContext.allowPrivilegeEscalation: false",
	"capabilities": "keeps Linux capabilities: set securityContext.capabilities.drop: [ALL] and add none",
	"privileged": "is privileged: remove securityContext.privileged",
}

passes(o, c, "runAsNonRoot") if effective(o, c, "runAsNonRoot") == true

passes(o, c, "runAsUser") if not effective(o, c, "runAsUser")

passes(o, c, "runAsUser") if effective(o, c, "runAsUser") != 0

passes(o, c, "seccompProfile") if effective(o, c, "seccompProfile").type == "RuntimeDefault"

passes(_, c, "readOnlyRootFilesystem") if c.securityContext.readOnlyRootFilesystem == true

passes(_, c, "allowPrivilegeEscalation") if c.securityContext.allowPrivilegeEscalation == false

passes(_, c, "capabilities") if {
	"ALL" in c.securityContext.capabilities.drop
	count(object.get(c.securityContext.capabilities, "add", [])) == 0
}

passes(_, c, "privileged") if not c.securityContext.privileged
