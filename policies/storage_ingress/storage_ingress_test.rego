package sutra.storage_ingress

import data.sutra.lib.fixtures as f

good := f.tier_objects("low")

from_path := "/spec/ingress/0/from"

test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_open_rule_denied if {
	objs := f.patch(good, "NetworkPolicy", "storage-server", [{"op": "remove", "path": from_path}])
	some v in deny with input as f.tier_input("low", objs)
	v.name == "storage-server"
	contains(v.msg, "admits every source")
}

test_client_pod_denied if {
	objs := f.patch(good, "NetworkPolicy", "storage-server", [{
		"op": "add", "path": "/spec/ingress/0/from/-",
		"value": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "sutra-client"}}},
	}])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "a podSelector that matches sutra-client")
}

test_not_in_expression_denied if {
	objs := f.patch(good, "NetworkPolicy", "storage-server", [{
		"op": "replace", "path": from_path,
		"value": [{"podSelector": {"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "NotIn", "values": ["sutra-api"]}]}}],
	}])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "matches storage-server, sutra-client")
}

test_namespace_selector_denied if {
	objs := f.patch(good, "NetworkPolicy", "storage-server", [{
		"op": "add", "path": "/spec/ingress/0/from/-", "value": {"namespaceSelector": {}},
	}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_ip_block_denied if {
	objs := f.patch(good, "NetworkPolicy", "storage-server", [{
		"op": "add", "path": "/spec/ingress/0/from/-", "value": {"ipBlock": {"cidr": "0.0.0.0/0"}},
	}])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "an ipBlock")
}

test_other_policy_selecting_storage_checked if {
	p := json.patch(f.allow("sutra-client"), [
		{"op": "replace", "path": "/metadata/name", "value": "wide"},
		{"op": "replace", "path": "/spec/podSelector", "value": {}},
		{"op": "replace", "path": "/spec/ingress/0/ports", "value": [{"port": 50000, "endPort": 50100}]},
	])
	objs := array.concat(good, [p])
	some v in deny with input as f.tier_input("low", objs)
	v.name == "wide"
}

test_metrics_port_open_to_monitoring_allowed if {
	objs := f.patch(good, "NetworkPolicy", "storage-server", [{
		"op": "add", "path": "/spec/ingress/-",
		"value": {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}], "ports": [{"port": 9091}]},
	}])
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_named_port_checked if {
	objs := f.patch(good, "NetworkPolicy", "storage-server", [
		{"op": "replace", "path": "/spec/ingress/0/ports", "value": [{"port": "main"}]},
		{"op": "add", "path": "/spec/ingress/0/from/-", "value": {"ipBlock": {"cidr": "10.0.0.0/8"}}},
	])
	count(deny) == 1 with input as f.tier_input("low", objs)
}
