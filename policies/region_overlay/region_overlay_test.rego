package sutra.region_overlay

# The table's rows: eu-west runs medium as its storage primary and high with us-east's store.
ingress(host) := {"kind": "Ingress", "metadata": {"name": "sutra-client", "namespace": "sutra-ai"}, "spec": {
	"tls": [{"hosts": [host], "secretName": "sutra-client-tls"}],
	"rules": [{"host": host}],
}}

claim(class) := {"kind": "PersistentVolumeClaim", "metadata": {"name": "storage-snapshots", "namespace": "sutra-ai"}, "spec": {"storageClassName": class}}

api(zones) := {"kind": "Deployment", "metadata": {"name": "sutra-api", "namespace": "sutra-ai"}, "spec": {"template": {
	"metadata": {"labels": {"app.kubernetes.io/name": "sutra-api"}},
	"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": zones}]}]}}}},
}}}

storage_service(spec) := {"kind": "Service", "metadata": {"name": "storage-server", "namespace": "sutra-ai"}, "spec": spec}

remote_policy(cidr) := {"kind": "NetworkPolicy", "metadata": {"name": "storage-remote", "namespace": "sutra-ai"}, "spec": {"egress": [{"to": [{"ipBlock": {"cidr": cidr}}]}]}}

eu_zones := ["eu-west-1a", "eu-west-1b", "eu-west-1c"]

medium := [ingress("medium.eu-west.sutra.example"), claim("sutra-ssd-eu-west"), api(eu_zones)]

high := [
	ingress("high.eu-west.sutra.example"),
	api(eu_zones),
	storage_service({"type": "ExternalName", "externalName": "storage.high.us-east.sutra.internal"}),
	remote_policy("10.20.0.0/16"),
]

region_input(tier, objs) := {"tier": tier, "region": "eu-west", "objects": objs}

test_primary_overlay_allowed if {
	objs := medium
	count(deny) == 0 with input as region_input("medium", objs)
}

test_remote_overlay_allowed if {
	objs := high
	count(deny) == 0 with input as region_input("high", objs)
}

test_unlisted_tier_denied if {
	objs := medium
	some v in deny with input as {"tier": "low", "region": "us-east", "objects": objs}
	v.kind == "Region"
	contains(v.msg, "does not run the low tier")
}

test_wrong_host_and_class_denied if {
	objs := [ingress("medium.us-east.sutra.example"), claim("standard"), api(eu_zones)]
	found := {v.kind | some v in deny with input as region_input("medium", objs)}
	found == {"Ingress", "PersistentVolumeClaim"}
}

test_wrong_zones_denied if {
	objs := [ingress("medium.eu-west.sutra.example"), claim("sutra-ssd-eu-west"), api(["eu-west-1a"])]
	some v in deny with input as region_input("medium", objs)
	v.name == "sutra-api"
	contains(v.msg, "zones")
}

test_remote_storage_elsewhere_denied if {
	objs := [
		ingress("high.eu-west.sutra.example"),
		api(eu_zones),
		storage_service({"clusterIP": "None", "selector": {"app.kubernetes.io/name": "storage-server"}}),
		remote_policy("0.0.0.0/0"),
	]
	found := {v.kind | some v in deny with input as region_input("high", objs)}
	found == {"Service", "NetworkPolicy"}
}
