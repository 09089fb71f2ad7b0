package sutra.topology_spread

import data.sutra.lib.fixtures as f

zone_spread(n) := [{"op": "add", "path": "/spec/template/spec/topologySpreadConstraints", "value": [{
	"maxSkew": 1,
	"topologyKey": "topology.kubernetes.io/zone",
	"whenUnsatisfiable": "ScheduleAnyway",
	"labelSelector": {"matchLabels": {"app.kubernetes.io/name": n}},
}]}]

spread := f.patch(f.patch(f.patch(f.tier_objects("low"), "Deployment", "sutra-api", zone_spread("sutra-api")), "Deployment", "sutra-hybrid", zone_spread("sutra-hybrid")), "Deployment", "sutra-client", zone_spread("sutra-client"))

region_input(objs) := {"tier": "low", "region": "eu-west", "objects": objs}

test_spread_workloads_allowed if {
	objs := spread
	count(deny) == 0 with input as region_input(objs)
}

test_tier_overlay_allowed_without_spread if {
	objs := f.tier_objects("low")
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_missing_spread_denied if {
	objs := f.tier_objects("low")
	names := {v.name | some v in deny with input as region_input(objs)}
	names == {"sutra-api", "sutra-hybrid", "sutra-client"}
}

test_skew_and_do_not_schedule_denied if {
	objs := f.patch(spread, "Deployment", "sutra-api", [
		{"op": "replace", "path": "/spec/template/spec/topologySpreadConstraints/0/maxSkew", "value": 2},
		{"op": "replace", "path": "/spec/template/spec/topologySpreadConstraints/0/whenUnsatisfiable", "value": "DoNotSchedule"},
	])
	found := [v.msg | some v in deny with input as region_input(objs)]
	count(found) == 2
	some a in found
	contains(a, "maxSkew 2")
	some b in found
	contains(b, "DoNotSchedule")
}

test_foreign_selector_denied if {
	objs := f.patch(spread, "Deployment", "sutra-hybrid", [{"op": "replace", "path": "/spec/template/spec/topologySpreadConstraints/0/labelSelector/matchLabels/app.kubernetes.io~1name", "value": "sutra-api"}])
	some v in deny with input as region_input(objs)
	v.name == "sutra-hybrid"
	contains(v.msg, "does not select its own pods")
}
