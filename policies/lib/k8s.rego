# Shared helpers: the tier table, workloads and their pod templates, label selectors, quantities.
# Every rule sees a whole rendered tier: input = {"tier": "<tier>", "objects": [<objects>]}.
package sutra.lib.k8s

# The helpers on one object live in lib/manifest.rego; the rules reach them through this package.
import data.sutra.lib.manifest

# The tier table (policies/data/tiers.yaml). The sutra evaluator loads it as data.tiers; opa and
# conftest given `--data policies/data/tiers.yaml` put its top-level keys at the data root.
config := data.tiers if {
	data.tiers.tiers
} else := {
	"tiers": data.tiers,
	"hpa": data.hpa,
	"storage": data.storage,
	"required_labels": data.required_labels,
	"namespace": data.namespace,
	"regions": object.get(data, "regions", {}),
}

tier := object.get(input, "tier", "low")

# The region whose overlay of the tier this is (input.region, from regions/<region>/<tier>), or
# "" for the tier's own overlay; its row of the table's `regions:`, and the tier's entry there.
region := object.get(input, "region", "")

region_row := config.regions[region] if region != ""

placement := region_row.tiers[tier]

# Whether this render holds the tier's storage writer: the tier's own overlay, or the region
# that is the tier's storage primary. Elsewhere the store runs in the primary region.
storage_primary if region == ""

storage_primary if placement.storage == "primary"

# The workloads the table fixes for this tier: name -> {kind, hpa: {min, max}} or {kind, replicas};
# every storage shard's (tier_workloads); without the storage server, its log and its read
# followers where another region is the storage primary (they run beside the writer).
table := tier_workloads(tier) if {
	storage_primary
} else := object.remove(tier_workloads(tier), primary_only)

# The replicated store's workloads (storage.replication: the log and the read followers), or
# none when the table does not describe one.
replication := object.get(config.storage, "replication", {})

primary_only := {shard_name(n, i) |
	some n in {config.storage.workload} | {m | some key in ["log", "followers"]; m := replication[key]}
	some i in shard_indexes(tier)
}

# Storage shards (storage.shards of a tier's row, 1 where absent): shard i runs its own writer
# and followers, named like the unsharded ones for shard 0 and `<name>-<i>` for i >= 1.
shard_count_of(t) := object.get(object.get(config.tiers[t], "storage", {}), "shards", 1)

shard_count := shard_count_of(tier)

shard_indexes(t) := [i | some i in numbers.range(0, shard_count_of(t) - 1)]

shard_name(base, 0) := base

shard_name(base, i) := sprintf("%s-%d", [base, i]) if i > 0

# The workloads run once per shard: the writer and, where the table describes them, followers.
sharded := {config.storage.workload} | {n | n := replication.followers}

# A tier's workloads, each sharded one repeated (same row) for every shard i >= 1.
tier_workloads(t) := object.union(config.tiers[t].workloads, {shard_name(n, i): e |
	some n, e in config.tiers[t].workloads
	n in sharded
	some i in shard_indexes(t)
	i > 0
})

# The shard index of a sharded object's name in this tier (base: the unsharded name).
shard_index(base, n) := i if {
	some i in shard_indexes(tier)
	shard_name(base, i) == n
}

objects := object.get(input, "objects", [])

workload_kinds := manifest.workload_kinds

replicated_kinds := manifest.replicated_kinds

serving_kinds := manifest.serving_kinds

workloads := [o | some o in objects; o.kind in workload_kinds]

hpas := [o | some o in objects; o.kind == "HorizontalPodAutoscaler"]

network_policies := [o | some o in objects; o.kind == "NetworkPolicy"]

name(o) := manifest.name(o)

namespace(o) := manifest.namespace(o)

describe(o) := manifest.describe(o)

labels(o) := manifest.labels(o)

pod_template(o) := manifest.pod_template(o)

pod_spec(o) := manifest.pod_spec(o)

pod_labels(o) := manifest.pod_labels(o)

containers(o) := manifest.containers(o)

init_containers(o) := manifest.init_containers(o)

all_containers(o) := manifest.all_containers(o)

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

quantity(q) := manifest.quantity(q)
