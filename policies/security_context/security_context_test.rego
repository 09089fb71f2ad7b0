package sutra.security_context

import data.sutra.lib.fixtures as f

good := f.tier_objects("low")

pod := "/spec/template/spec/securityContext"

ctr := "/spec/template/spec/containers/0/securityContext"

test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_root_allowed_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "remove", "path": concat("/", [pod, "runAsNonRoot"])}])
	some v in deny with input as f.tier_input("low", objs)
	v.msg == "container sutra-api of Deployment sutra-api may run as root: set securityContext.runAsNonRoot: true (pod or container)"
}

test_container_level_non_root_allowed if {
	objs := f.patch(good, "Deployment", "sutra-api", [
		{"op": "remove", "path": concat("/", [pod, "runAsNonRoot"])},
		{"op": "add", "path": concat("/", [ctr, "runAsNonRoot"]), "value": true},
	])
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_container_overrides_pod_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "add", "path": concat("/", [ctr, "runAsNonRoot"]), "value": false}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_uid_zero_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "add", "path": concat("/", [ctr, "runAsUser"]), "value": 0}])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "uid 0")
}

test_no_seccomp_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "replace", "path": concat("/", [pod, "seccompProfile"]), "value": {"type": "Unconfined"}}])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "RuntimeDefault")
}

test_writable_root_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "remove", "path": concat("/", [ctr, "readOnlyRootFilesystem"])}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_escalation_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "replace", "path": concat("/", [ctr, "allowPrivilegeEscalation"]), "value": true}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_added_capability_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "add", "path": concat("/", [ctr, "capabilities", "add"]), "value": ["NET_ADMIN"]}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_privileged_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "add", "path": concat("/", [ctr, "privileged"]), "value": true}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_bare_container_lists_every_problem if {
	objs := f.patch(good, "Deployment", "sutra-api", [
		{"op": "remove", "path": pod},
		{"op": "remove", "path": ctr},
	])
	count(deny) == 5 with input as f.tier_input("low", objs)
}
