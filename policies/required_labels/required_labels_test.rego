package sutra.required_labels

import data.sutra.lib.fixtures as f

good := f.tier_objects("low")

test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_workload_label_missing_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "remove", "path": "/metadata/labels/app.kubernetes.io~1part-of"}])
	some v in deny with input as f.tier_input("low", objs)
	v.msg == "Deployment sutra-api lacks the labels app.kubernetes.io/part-of: add them to metadata.labels"
}

test_pod_template_label_missing_denied if {
	objs := f.patch(good, "StatefulSet", "storage-server", [{"op": "replace", "path": "/spec/template/metadata/labels", "value": {}}])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "the pod template of StatefulSet storage-server lacks the labels app.kubernetes.io/name, app.kubernetes.io/component")
}

test_empty_value_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "replace", "path": "/metadata/labels/app.kubernetes.io~1instance", "value": ""}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_cronjob_template_checked if {
	objs := f.patch(good, "CronJob", "storage-snapshot", [{"op": "replace", "path": "/spec/jobTemplate/spec/template/metadata/labels", "value": {}}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}
