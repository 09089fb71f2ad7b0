# Shared helpers: the tier table, workloads and their pod templates, label selectors, quantities.
# Every rule sees a whole rendered tier: input = {"tier": "<tier>", "objects": [<objects>]}.
package sutra.lib.k8s

# The tier table (policies/data/tiers.yaml). The sutra evaluator loads it as data.tiers; opa and
# conftest given `--data policies/data/tiers.yaml` put its top-level keys at the data root.
config := data.tiers if {
	data.tiers.tiers
} else := {
	"tiers": data.tiers,
	"hpa": data.hpa,
	"storage": data.storage,
	"required_labels": data.required_labels,
}

tier := object.get(input, "tier", "low")

# The workloads the table fixes for this tier: name -> {kind, hpa: {min, max}} or {kind, replicas}.
table := config.tiers[tier].workloads

objects := object.get(input, "objects", [])

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}

# Kinds whose pods run continuously and are replicated.
replicated_kinds := {"Deployment", "StatefulSet"}

# Kinds whose pods serve continuously (so they need probes).
serving_kinds := {"Deployment", "StatefulSet", "DaemonSet"}

workloads := [o | some o in objects; o.kind in workload_kinds]

hpas := [o | some o in objects; o.kind == "HorizontalPodAutoscaler"]

network_policies := [o | some o in objects; o.kind == "NetworkPolicy"]

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

find(kind, n, ns) := [o | some o in objects; o.kind == kind; o.metadata.name == n; namespace(o) == ns]

# An HPA h scales workload o.
scales(h, o) if {
	ref := h.spec.scaleTargetRef
	ref.kind == o.kind
	ref.name == o.metadata.name
	namespace(h) == namespace(o)
}

# The table entry of a workload (same name and kind), undefined for workloads not in the table.
table_entry(o) := e if {
	e := table[o.metadata.name]
	e.kind == o.kind
}

scaling_hpas(o) := [h | some h in hpas; scales(h, o)]

hpa_managed(o) if count(scaling_hpas(o)) > 0

hpa_managed(o) if table_entry(o).hpa

# The most pods a workload can run: its HPA's (else the table's) max, else spec.replicas.
max_pods(o) := max([n | some h in scaling_hpas(o); n := object.get(h, ["spec", "maxReplicas"], 1)]) if {
	count(scaling_hpas(o)) > 0
} else := table_entry(o).hpa.max if {
	table_entry(o).hpa
} else := object.get(o, ["spec", "replicas"], 1)

# The fewest pods a workload runs: its HPA's (else the table's) min, else spec.replicas.
min_pods(o) := min([n | some h in scaling_hpas(o); n := object.get(h, ["spec", "minReplicas"], 1)]) if {
	count(scaling_hpas(o)) > 0
} else := table_entry(o).hpa.min if {
	table_entry(o).hpa
} else := object.get(o, ["spec", "replicas"], 1)

# Kubernetes label selectors (matchLabels + matchExpressions).
selector_matches(sel, lbls) if {
	every k, v in object.get(sel, "matchLabels", {}) {
		lbls[k] == v
	}
	every e in object.get(sel, "matchExpressions", []) {
		expression_matches(e, lbls)
	}
}

selector_empty(sel) if {
	count(object.get(sel, "matchLabels", {})) == 0
	count(object.get(sel, "matchExpressions", [])) == 0
}

expression_matches(e, lbls) if {
	e.operator == "In"
	lbls[e.key] in e.values
}

expression_matches(e, lbls) if {
	e.operator == "NotIn"
	not value_in(lbls, e.key, e.values)
}

expression_matches(e, lbls) if {
	e.operator == "Exists"
	has_key(lbls, e.key)
}

expression_matches(e, lbls) if {
	e.operator == "DoesNotExist"
	not has_key(lbls, e.key)
}

value_in(lbls, key, values) if lbls[key] in values

has_key(obj, key) if _ = obj[key]

# A Service-style selector (a plain map) matches labels.
map_selects(sel, lbls) if {
	every k, v in sel {
		lbls[k] == v
	}
}

# Kubernetes quantities: 500m, 0.5, 2, 512Mi, 1Gi, 1G, 100k. Undefined when not a quantity.
quantity_pattern := `^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$`

quantity(q) := q if is_number(q)

quantity(q) := units.parse(q) if {
	is_string(q)
	regex.match(quantity_pattern, q)
}
