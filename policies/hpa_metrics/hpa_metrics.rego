# HPAs scale on the resource utilisation targets and with the scale-up/scale-down behaviour of
# the tier table's `hpa:` section (taken from the scaling document), so tuning happens in one place.
# The traffic signals (Pods metrics, `pods_metrics:` per tier) are required in the tiers that list
# them and forbidden elsewhere: a low tier without prometheus-adapter rules would leave its HPA
# unable to read them.
package sutra.hpa_metrics

import data.sutra.lib.k8s

entry(h) := k8s.config.hpa[h.spec.scaleTargetRef.name]

# The HPA's metrics as "cpu=70" and "pods name=100" strings; any other kind of metric shows up
# as its type so that it cannot match the table.
have(h) := {m |
	some metric in object.get(h, ["spec", "metrics"], [])
	m := metric_text(metric)
}

metric_text(metric) := sprintf("%s=%v", [metric.resource.name, metric.resource.target.averageUtilization]) if {
	metric.type == "Resource"
	metric.resource.target.type == "Utilization"
} else := pods_text(metric.pods.metric.name, metric.pods.target.averageValue) if {
	metric.type == "Pods"
	metric.pods.target.type == "AverageValue"
	not metric.pods.metric.selector
	k8s.quantity(metric.pods.target.averageValue)
} else := sprintf("%v metric", [object.get(metric, "type", "untyped")])

# Quantities compare by value: "100", 100 and "100000m" are one target.
pods_text(name, value) := sprintf("pods %s=%v", [name, k8s.quantity(value)])

want(h) := {sprintf("%s=%v", [r, v]) | some r, v in entry(h).metrics} | {pods_text(n, v) |
	some n, v in object.get(entry(h), ["pods_metrics", k8s.tier], {})
}

deny contains {"kind": h.kind, "name": h.metadata.name, "msg": msg} if {
	some h in k8s.hpas
	entry(h)
	have(h) != want(h)
	msg := sprintf(
		"HorizontalPodAutoscaler %s scales on {%s}: set spec.metrics to exactly {%s} as in the tier table (Resource Utilization targets; Pods metrics with an AverageValue target)",
		[h.metadata.name, concat(", ", sort(have(h))), concat(", ", sort(want(h)))],
	)
}

deny contains {"kind": h.kind, "name": h.metadata.name, "msg": msg} if {
	some h in k8s.hpas
	not k8s.config.hpa[h.spec.scaleTargetRef.name]
	msg := sprintf(
		"HorizontalPodAutoscaler %s scales %v, which has no entry under hpa: in the tier table: add its metrics to policies/data/tiers.yaml",
		[h.metadata.name, object.get(h, ["spec", "scaleTargetRef", "name"], "<no name>")],
	)
}

want_behavior(direction, b) := {
	"stabilizationWindowSeconds": b.stabilizationWindowSeconds,
	"policies": [{"type": "Percent", "value": b.percent, "periodSeconds": b.periodSeconds}],
}

have_behavior(h, direction) := {
	"stabilizationWindowSeconds": object.get(h, ["spec", "behavior", direction, "stabilizationWindowSeconds"], null),
	"policies": object.get(h, ["spec", "behavior", direction, "policies"], []),
}

deny contains {"kind": h.kind, "name": h.metadata.name, "msg": msg} if {
	some h in k8s.hpas
	some direction, b in k8s.config.hpa[h.spec.scaleTargetRef.name].behavior
	want := want_behavior(direction, b)
	have_behavior(h, direction) != want
	msg := sprintf(
		"HorizontalPodAutoscaler %s: set spec.behavior.%s to stabilizationWindowSeconds %v with the single policy Percent %v every %vs (tier table)",
		[h.metadata.name, direction, b.stabilizationWindowSeconds, b.percent, b.periodSeconds],
	)
}
