# HPAs scale on the resource utilisation targets and with the scale-up/scale-down behaviour of
# the tier table's `hpa:` section (taken from the scaling document), so tuning happens in one place.
package sutra.hpa_metrics

import data.sutra.lib.k8s

want_metrics(h) := k8s.config.hpa[h.spec.scaleTargetRef.name].metrics

# The HPA's metrics as "cpu=70" strings; any metric other than a Resource Utilization target
# shows up as its type so that it cannot match the table.
have(h) := {m |
	some metric in object.get(h, ["spec", "metrics"], [])
	m := metric_text(metric)
}

metric_text(metric) := sprintf("%s=%v", [metric.resource.name, metric.resource.target.averageUtilization]) if {
	metric.type == "Resource"
	metric.resource.target.type == "Utilization"
} else := sprintf("%v metric", [object.get(metric, "type", "untyped")])

want(h) := {sprintf("%s=%v", [r, v]) | some r, v in want_metrics(h)}

deny contains {"kind": h.kind, "name": h.metadata.name, "msg": msg} if {
	some h in k8s.hpas
	want_metrics(h)
	have(h) != want(h)
	msg := sprintf(
		"HorizontalPodAutoscaler %s scales on {%s}: set spec.metrics to Resource Utilization targets {%s} as in the tier table",
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
