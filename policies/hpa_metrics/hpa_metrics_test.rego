package sutra.hpa_metrics

import data.sutra.lib.fixtures as f

good := f.tier_objects("high")

test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("high", objs)
}

test_wrong_cpu_target_denied if {
	objs := f.patch(good, "HorizontalPodAutoscaler", "sutra-hybrid", [{
		"op": "replace", "path": "/spec/metrics",
		"value": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 90}}}],
	}])
	some v in deny with input as f.tier_input("high", objs)
	v.name == "sutra-hybrid"
	v.msg == "HorizontalPodAutoscaler sutra-hybrid scales on {cpu=90}: set spec.metrics to Resource Utilization targets {cpu=60, memory=75} as in the tier table"
}

test_extra_metric_denied if {
	objs := f.patch(good, "HorizontalPodAutoscaler", "sutra-client", [{
		"op": "add", "path": "/spec/metrics/-",
		"value": {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
	}])
	some v in deny with input as f.tier_input("high", objs)
	contains(v.msg, "Pods metric")
}

test_missing_behavior_denied if {
	objs := f.patch(good, "HorizontalPodAutoscaler", "sutra-api", [{"op": "remove", "path": "/spec/behavior"}])
	count(deny) == 2 with input as f.tier_input("high", objs)
}

test_slow_scale_up_denied if {
	objs := f.patch(good, "HorizontalPodAutoscaler", "sutra-api", [{
		"op": "replace", "path": "/spec/behavior/scaleUp/stabilizationWindowSeconds", "value": 300,
	}])
	some v in deny with input as f.tier_input("high", objs)
	contains(v.msg, "spec.behavior.scaleUp")
}

test_unknown_target_denied if {
	objs := f.patch(good, "HorizontalPodAutoscaler", "sutra-api", [{
		"op": "replace", "path": "/spec/scaleTargetRef/name", "value": "sutra-other",
	}])
	some v in deny with input as f.tier_input("high", objs)
	contains(v.msg, "no entry under hpa:")
}
