# In a region, every workload an HPA scales spreads its pods over the zones: a constraint on
# topology.kubernetes.io/zone with maxSkew 1, selecting the workload's own pods, and
# whenUnsatisfiable ScheduleAnyway. Losing a zone then takes at most about a third of the pods,
# not all of them; and a scale-up under load never waits Pending because one zone is out of
# capacity (DoNotSchedule would make it wait), so the scheduler balances whenever it can.
# Region overlays only (input.region): a tier's own overlay is what the regions build on.
package sutra.topology_spread

import data.sutra.lib.k8s

zone_key := "topology.kubernetes.io/zone"

autoscaled := [o | some o in k8s.workloads; k8s.hpa_managed(o)]

constraints(o) := object.get(k8s.pod_spec(o), "topologySpreadConstraints", [])

zone_constraints(o) := [c | some c in constraints(o); c.topologyKey == zone_key]

violation(o, msg) := {"kind": o.kind, "name": o.metadata.name, "msg": sprintf("%s %s", [k8s.describe(o), msg])}

deny contains violation(o, msg) if {
	k8s.region != ""
	some o in autoscaled
	count(zone_constraints(o)) == 0
	msg := sprintf(
		"is autoscaled but does not spread over zones: add a topologySpreadConstraint on %s (maxSkew 1, whenUnsatisfiable ScheduleAnyway) selecting its pods",
		[zone_key],
	)
}

deny contains violation(o, msg) if {
	k8s.region != ""
	some o in autoscaled
	some c in zone_constraints(o)
	object.get(c, "maxSkew", 0) != 1
	msg := sprintf("spreads over zones with maxSkew %v: use 1 (at most one pod more in one zone)", [object.get(c, "maxSkew", "unset")])
}

deny contains violation(o, msg) if {
	k8s.region != ""
	some o in autoscaled
	some c in zone_constraints(o)
	have := object.get(c, "whenUnsatisfiable", "DoNotSchedule")
	have != "ScheduleAnyway"
	msg := sprintf("spreads over zones with whenUnsatisfiable %s: use ScheduleAnyway, so a full zone never holds a scale-up Pending", [have])
}

deny contains violation(o, msg) if {
	k8s.region != ""
	some o in autoscaled
	some c in zone_constraints(o)
	not k8s.selector_matches(object.get(c, "labelSelector", {"matchLabels": {"": "none"}}), k8s.pod_labels(o))
	msg := "spreads over zones with a labelSelector that does not select its own pods: the spread counts nothing"
}
