# The container_resources checks on one object, shared by the gate (container_resources.rego,
# over a whole tier) and the Gatekeeper template generated from this file (one object at
# admission).
package sutra.container_resources.admission

import data.sutra.lib.manifest

# The kinds the checks look at: the Gatekeeper constraint matches exactly these.
kinds := manifest.workload_kinds

resources := ["cpu", "memory"]

# What is wrong with object o, one message per problem (empty when compliant).
messages(o, _) := (missing(o) | not_quantities(o)) | below_request(o)

missing(o) := {msg |
	o.kind in kinds
	some entry in manifest.all_containers(o)
	some section in ["requests", "limits"]
	some r in resources
	not entry.container.resources[section][r]
	msg := sprintf("container %s of %s has no %s %s: set resources.%s.%s", [entry.container.name, manifest.describe(o), r, section, section, r])
}

not_quantities(o) := {msg |
	o.kind in kinds
	some entry in manifest.all_containers(o)
	some section in ["requests", "limits"]
	some r in resources
	q := entry.container.resources[section][r]
	not manifest.quantity(q)
	msg := sprintf(
		"container %s of %s has resources.%s.%s %v, which is not a quantity: use e.g. 500m or 1 for cpu, 512Mi or 1Gi for memory",
		[entry.container.name, manifest.describe(o), section, r, q],
	)
}

below_request(o) := {msg |
	o.kind in kinds
	some entry in manifest.all_containers(o)
	some r in resources
	request := entry.container.resources.requests[r]
	limit := entry.container.resources.limits[r]
	manifest.quantity(limit) < manifest.quantity(request)
	msg := sprintf(
		"container %s of %s limits %s to %v, below its request %v: raise resources.limits.%s to at least the request",
		[entry.container.name, manifest.describe(o), r, limit, request, r],
	)
}
