# Helpers on one Kubernetes object: its pod template and containers, how messages name it, and
# resource quantities. Nothing here reads `input` or `data`, so the same functions serve the
# gate (a whole tier, through lib/k8s.rego) and the Gatekeeper templates generated from the
# rules' admission.rego files (one object under review).
package sutra.lib.manifest

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}

# Kinds whose pods run continuously and are replicated.
replicated_kinds := {"Deployment", "StatefulSet"}

# Kinds whose pods serve continuously (so they need probes).
serving_kinds := {"Deployment", "StatefulSet", "DaemonSet"}

name(o) := o.metadata.name

namespace(o) := object.get(o, ["metadata", "namespace"], "")

# "Deployment sutra-api": how messages name an object.
describe(o) := sprintf("%s %s", [o.kind, o.metadata.name])

labels(o) := object.get(o, ["metadata", "labels"], {})

pod_template(o) := o.spec.jobTemplate.spec.template if {
	o.kind == "CronJob"
} else := o.spec.template

pod_spec(o) := object.get(pod_template(o), "spec", {})

pod_labels(o) := object.get(pod_template(o), ["metadata", "labels"], {})

containers(o) := object.get(pod_spec(o), "containers", [])

init_containers(o) := object.get(pod_spec(o), "initContainers", [])

# Every container of a workload, each with the list it came from.
all_containers(o) := array.concat(
	[{"container": c, "list": "containers"} | some c in containers(o)],
	[{"container": c, "list": "initContainers"} | some c in init_containers(o)],
)

# Kubernetes quantities: 500m, 0.5, 2, 512Mi, 1Gi, 1G, 100k. Undefined when not a quantity.
quantity_pattern := `^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$`

quantity(q) := q if is_number(q)

quantity(q) := units.parse(q) if {
	is_string(q)
	regex.match(quantity_pattern, q)
}
