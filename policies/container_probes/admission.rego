# The container_probes checks on one object, shared by the gate (container_probes.rego, over a
# whole tier) and the Gatekeeper template generated from this file (one object at admission).
package sutra.container_probes.admission

import data.sutra.lib.manifest

# The kinds the checks look at: the Gatekeeper constraint matches exactly these.
kinds := manifest.serving_kinds

# What is wrong with object o, one message per problem (empty when compliant).
messages(o, _) := {msg |
	o.kind in kinds
	some c in manifest.containers(o)
	some probe in ["livenessProbe", "readinessProbe"]
	not c[probe]
	msg := sprintf("container %s of %s has no %s: add one (httpGet /health or /ready, or grpc for storage-server)", [c.name, manifest.describe(o), probe])
}
