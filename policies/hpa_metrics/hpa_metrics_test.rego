package sutra.hpa_metrics

import data.sutra.lib.fixtures as f

good := f.tier_objects("high")

test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("high", objs)
}

test_every_compliant_tier_allowed if {
	every t, _ in data.sutra.lib.k8s.config.tiers {
		count(deny) == 0 with input as f.tier_input(t, f.tier_objects(t))
	}
}

pods_metric(name, value) := {"type": "Pods", "pods": {
	"metric": {"name": name},
	"target": {"type": "AverageValue", "averageValue": value},
}}

test_pods_metrics_in_low_denied if {
	objs := f.patch(f.tier_objects("low"), "HorizontalPodAutoscaler", "sutra-api", [{
		"op": "add", "path": "/spec/metrics/-",
		"value": pods_metric("sutra_api_requests_per_second", "100"),
	}])
	some v in deny with input as f.tier_input("low", objs)
	v.msg == "HorizontalPodAutoscaler sutra-api scales on {cpu=70, memory=80, pods sutra_api_requests_per_second=100}: set spec.metrics to exactly {cpu=70, memory=80} as in the tier table (Resource Utilization targets; Pods metrics with an AverageValue target)"
}

test_missing_latency_metric_denied if {
	objs := f.patch(good, "HorizontalPodAutoscaler", "sutra-api", [{"op": "remove", "path": "/spec/metrics/3"}])
	some v in deny with input as f.tier_input("high", objs)
	v.name == "sutra-api"
	contains(v.msg, "to exactly {cpu=70, memory=80, pods sutra_api_request_duration_p95_seconds=0.25, pods sutra_api_requests_per_second=100}")
}

test_wrong_requests_target_denied if {
	objs := f.patch(good, "HorizontalPodAutoscaler", "sutra-api", [{
		"op": "replace", "path": "/spec/metrics/2",
		"value": pods_metric("sutra_api_requests_per_second", "200"),
	}])
	some v in deny with input as f.tier_input("medium", objs)
	contains(v.msg, "pods sutra_api_requests_per_second=200}")
}

test_pods_targets_compare_by_value if {
	objs := f.patch(good, "HorizontalPodAutoscaler", "sutra-api", [
		{"op": "replace", "path": "/spec/metrics/2", "value": pods_metric("sutra_api_requests_per_second", 100)},
		{"op": "replace", "path": "/spec/metrics/3", "value": pods_metric("sutra_api_request_duration_p95_seconds", "0.25")},
	])
	count(deny) == 0 with input as f.tier_input("high", objs)
}

test_pods_metric_with_a_value_target_denied if {
	objs := f.patch(good, "HorizontalPodAutoscaler", "sutra-api", [{
		"op": "replace", "path": "/spec/metrics/2/pods/target",
		"value": {"type": "Value", "value": "100"},
	}])
	some v in deny with input as f.tier_input("high", objs)
	contains(v.msg, "{Pods metric, cpu=70")
}

test_wrong_cpu_target_denied if {
	objs := f.patch(good, "HorizontalPodAutoscaler", "sutra-hybrid", [{
		"op": "replace", "path": "/spec/metrics",
		"value": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 90}}}],
	}])
	some v in deny with input as f.tier_input("high", objs)
	v.name == "sutra-hybrid"
	v.msg == "HorizontalPodAutoscaler sutra-hybrid scales on {cpu=90}: set spec.metrics to exactly {cpu=60, memory=75} as in the tier table (Resource Utilization targets; Pods metrics with an AverageValue target)"
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
