# A compliant tier built from the tier table, for the rules' unit tests: each test starts from
# `tier_objects(t)` (which violates no rule) and changes one thing with `patch`.
package sutra.lib.fixtures

import data.sutra.lib.k8s

ports := {
	"storage-server": 50051,
	"sutra-api": 8000,
	"sutra-hybrid": 8001,
	"sutra-control": 9000,
	"sutra-client": 8080,
	"sutra-redis": 6379,
}

port(n) := object.get(ports, base(n), 8080)

# The unsharded name of a storage shard's workload (storage-server-1 -> storage-server).
base(n) := b if {
	some b in k8s.sharded
	regex.match(sprintf("^%s-[0-9]+$", [b]), n)
} else := n

# The shard a storage workload serves (0 for the unsharded name).
shard_of(n) := to_number(substring(n, count(base(n)) + 1, -1)) if base(n) != n

shard_of(n) := 0 if base(n) == n

sharded(t) if k8s.shard_count_of(t) > 1

labels(n) := {
	"app.kubernetes.io/name": n,
	"app.kubernetes.io/component": n,
	"app.kubernetes.io/part-of": "sutra",
	"app.kubernetes.io/instance": "sutra",
}

meta(n) := {"name": n, "namespace": "sutra-ai", "labels": labels(n)}

http_probe(path, port) := {"httpGet": {"path": path, "port": port}}

grpc_probe(port) := {"grpc": {"port": port}}

# One digest for every fixture image: the rules only read its form.
digest := "sha256:29e899af365a50ef5fb390783fca214b335c9845354a045db1e37c02e027f261"

container(n, port) := {
	"name": n,
	"image": sprintf("ghcr.io/sutra-ai/%s:0.1.0@%s", [n, digest]),
	"ports": [{"name": "main", "containerPort": port}],
	"resources": {
		"requests": {"cpu": "250m", "memory": "256Mi"},
		"limits": {"cpu": "1", "memory": "1Gi"},
	},
	"livenessProbe": probe(n, port, "/health"),
	"readinessProbe": probe(n, port, "/ready"),
	"securityContext": {
		"readOnlyRootFilesystem": true,
		"allowPrivilegeEscalation": false,
		"capabilities": {"drop": ["ALL"]},
	},
}

probe(n, port, _) := grpc_probe(port) if base(n) == "storage-server"

probe(n, port, path) := http_probe(path, port) if base(n) != "storage-server"

pod_security := {
	"runAsNonRoot": true,
	"runAsUser": 10001,
	"runAsGroup": 10001,
	"fsGroup": 10001,
	"seccompProfile": {"type": "RuntimeDefault"},
}

template(n, port) := {
	"metadata": {"labels": labels(n)},
	"spec": {"securityContext": pod_security, "containers": [container(n, port)]},
}

workload(n, entry) := object.union(
	{
		"apiVersion": "apps/v1",
		"kind": entry.kind,
		"metadata": meta(n),
		"spec": {
			"selector": {"matchLabels": {"app.kubernetes.io/name": n}},
			"template": template(n, port(n)),
		},
	},
	extra_spec(n, entry),
)

extra_spec(n, entry) := {"spec": {
	"replicas": entry.replicas,
	"serviceName": n,
	"template": {"spec": {"containers": [object.union(
		container(n, port(n)),
		{"volumeMounts": [{"name": "storage-data", "mountPath": "/var/lib/sutra"}]},
	)]}},
	"volumeClaimTemplates": [{
		"metadata": {"name": "storage-data"},
		"spec": {
			"accessModes": ["ReadWriteOnce"],
			"resources": {"requests": {"storage": "50Gi"}},
		},
	}],
}} if {
	entry.kind == "StatefulSet"
} else := {"spec": {"replicas": entry.replicas}} if {
	entry.replicas
} else := {}

hpa(n, entry, t) := object.union(
	{
		"apiVersion": "autoscaling/v2",
		"kind": "HorizontalPodAutoscaler",
		"metadata": meta(n),
		"spec": {
			"scaleTargetRef": {"apiVersion": "apps/v1", "kind": entry.kind, "name": n},
			"minReplicas": k8s.config.tiers[t].workloads[n].hpa.min,
			"maxReplicas": k8s.config.tiers[t].workloads[n].hpa.max,
			"metrics": array.concat(
				[m |
					some r, v in k8s.config.hpa[n].metrics
					m := {"type": "Resource", "resource": {
						"name": r,
						"target": {"type": "Utilization", "averageUtilization": v},
					}}
				],
				[m |
					some name, v in object.get(k8s.config.hpa[n], ["pods_metrics", t], {})
					m := {"type": "Pods", "pods": {
						"metric": {"name": name},
						"target": {"type": "AverageValue", "averageValue": v},
					}}
				],
			),
		},
	},
	behavior(n),
)

behavior(n) := {"spec": {"behavior": {d: policy |
	some d, b in k8s.config.hpa[n].behavior
	policy := {
		"stabilizationWindowSeconds": b.stabilizationWindowSeconds,
		"policies": [{"type": "Percent", "value": b.percent, "periodSeconds": b.periodSeconds}],
	}
}}} if {
	k8s.config.hpa[n].behavior
} else := {}

pdb(n) := {
	"apiVersion": "policy/v1",
	"kind": "PodDisruptionBudget",
	"metadata": meta(n),
	"spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": n}}},
}

service(n) := {
	"apiVersion": "v1",
	"kind": "Service",
	"metadata": meta(n),
	"spec": {
		"selector": {"app.kubernetes.io/name": n},
		"ports": [{"name": "main", "port": port(n), "targetPort": port(n)}],
	},
}

# Shard i's snapshot job as the tier table's backups say, writing onto a claim of its own.
snapshot(t, i) := {
	"apiVersion": "batch/v1",
	"kind": "CronJob",
	"metadata": meta(k8s.shard_name("storage-snapshot", i)),
	"spec": {
		"schedule": k8s.config.tiers[t].backups.schedule,
		"timeZone": "Etc/UTC",
		"concurrencyPolicy": "Forbid",
		"startingDeadlineSeconds": 60,
		"jobTemplate": {"spec": {
			"activeDeadlineSeconds": 600,
			"template": {
				"metadata": {"labels": labels("storage-snapshot")},
				"spec": {
					"restartPolicy": "OnFailure",
					"securityContext": pod_security,
					"containers": [object.union(
						object.remove(container("storage-snapshot", 9999), [
							"livenessProbe", "readinessProbe", "ports",
						]),
						{
							"args": [
								"storage", "snapshot", "--to", "/snapshots",
								"--keep", sprintf("%v", [k8s.config.tiers[t].backups.keep]),
								"--server",
								sprintf("%s:%d", [k8s.shard_name(k8s.config.storage.workload, i), k8s.config.storage.port]),
							],
							"volumeMounts": [{"name": "snapshots", "mountPath": "/snapshots"}],
						},
					)],
					"volumes": [{"name": "snapshots", "persistentVolumeClaim": {"claimName": k8s.shard_name("storage-snapshots", i)}}],
				},
			},
		}},
	},
}

snapshot_claim(t, i) := {
	"apiVersion": "v1",
	"kind": "PersistentVolumeClaim",
	"metadata": meta(k8s.shard_name("storage-snapshots", i)),
	"spec": {
		"accessModes": ["ReadWriteOnce"],
		"resources": {"requests": {"storage": sprintf("%vGi", [k8s.config.tiers[t].backups.volume_gi])}},
	},
}

default_deny := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "NetworkPolicy",
	"metadata": meta("default-deny"),
	"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
}

# One NetworkPolicy per workload: storage admits its clients on its port, the rest admit any pod.
allow(n) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "NetworkPolicy",
	"metadata": meta(n),
	"spec": {
		"podSelector": {"matchLabels": {"app.kubernetes.io/name": n}},
		"policyTypes": ["Ingress", "Egress"],
		"ingress": [ingress(n)],
		"egress": [{}],
	},
}

ingress(n) := {
	"from": [{"podSelector": {"matchExpressions": [{
		"key": "app.kubernetes.io/name",
		"operator": "In",
		"values": k8s.config.storage.clients,
	}]}}],
	"ports": [{"protocol": "TCP", "port": port(n)}],
} if {
	base(n) == k8s.config.storage.workload
} else := {"ports": [{"protocol": "TCP", "port": port(n)}]}

# The snapshot job accepts nothing; it only calls the storage server.
snapshot_policy := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "NetworkPolicy",
	"metadata": meta("storage-snapshot"),
	"spec": {
		"podSelector": {"matchLabels": {"app.kubernetes.io/name": "storage-snapshot"}},
		"policyTypes": ["Egress"],
		"egress": [{"ports": [{"protocol": "TCP", "port": port(k8s.config.storage.workload)}]}],
	},
}

# The replicated store where the tier runs it: the writer and the followers know the log, the
# followers are followers, the readers name one follower per pod, the log spreads over nodes.
replication := k8s.replication

replicated(t) if k8s.config.tiers[t].workloads[replication.followers]

follower_addresses(t) := concat(",", [sprintf("%s-%d.%s:%d", [f, i, f, k8s.config.storage.port]) |
	f := replication.followers
	some i in numbers.range(0, k8s.config.tiers[t].workloads[f].replicas - 1)
])

log_url := {"name": "SUTRA_STORAGE_NATS_URL", "value": "nats://nats:4222"}

# The writer keeps the log as long as the table's backups.log_max_age_minutes (rule log_retention).
log_max_age(t) := {
	"name": "SUTRA_STORAGE_STREAM_MAX_AGE_SECONDS",
	"value": sprintf("%d", [k8s.config.tiers[t].backups.log_max_age_minutes * 60]),
}

env(n, t) := array.concat(plain_env(n, t), shard_env(n, t))

plain_env(n, t) := [log_url, log_max_age(t)] if {
	replicated(t)
	base(n) == k8s.config.storage.workload
} else := [log_url, {"name": "SUTRA_STORAGE_ROLE", "value": "follower"}] if {
	replicated(t)
	base(n) == replication.followers
} else := [{"name": "SUTRA_STORAGE_READERS", "value": follower_addresses(t)}] if {
	replicated(t)
	n in replication.readers
} else := []

# A sharded tier: each shard's servers know their shard, the readers every shard.
shard_env(n, t) := [
	{"name": "SUTRA_STORAGE_SHARD", "value": sprintf("%d", [shard_of(n)])},
	{"name": "SUTRA_STORAGE_SHARD_COUNT", "value": sprintf("%d", [k8s.shard_count_of(t)])},
	{"name": "SUTRA_STORAGE_STREAM", "value": sprintf("SUTRA_STORAGE_%d", [shard_of(n)])},
] if {
	sharded(t)
	base(n) in k8s.sharded
} else := array.concat(
	[{"name": "SUTRA_STORAGE_SHARDS", "value": shard_writers(t)}],
	[{"name": "SUTRA_STORAGE_SHARD_READERS", "value": shard_followers(t)} | replicated(t)],
) if {
	sharded(t)
	n in replication.readers
} else := []

shard_writers(t) := concat(",", [sprintf("%s:%d", [k8s.shard_name(k8s.config.storage.workload, i), k8s.config.storage.port]) |
	some i in k8s.shard_indexes(t)
])

shard_followers(t) := concat(";", [concat(",", [sprintf("%s-%d.%s:%d", [f, k, f, k8s.config.storage.port]) |
	f := k8s.shard_name(replication.followers, i)
	some k in numbers.range(0, k8s.config.tiers[t].workloads[replication.followers].replicas - 1)
]) |
	some i in k8s.shard_indexes(t)
])

anti_affinity(n) := {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
	"topologyKey": "kubernetes.io/hostname",
	"labelSelector": {"matchLabels": {"app.kubernetes.io/name": n}},
}]}}

tier_workload(n, e, t) := json.patch(workload(n, e), array.concat(
	[op | count(env(n, t)) > 0; op := {"op": "add", "path": "/spec/template/spec/containers/0/env", "value": env(n, t)}],
	[op | n == replication.log; op := {"op": "add", "path": "/spec/template/spec/affinity", "value": anti_affinity(n)}],
))

tier_objects(t) := array.concat(
	array.concat(
		[o | some n, e in k8s.tier_workloads(t); o := tier_workload(n, e, t)],
		[o | some n, e in k8s.tier_workloads(t); e.hpa; o := hpa(n, e, t)],
	),
	array.concat(
		array.concat(
			[o | some n, e in k8s.tier_workloads(t); e.hpa.max > 1; o := pdb(n)],
			[o | some n, e in k8s.tier_workloads(t); object.get(e, "replicas", 0) > 1; o := pdb(n)],
		),
		array.concat(
			[o | some n, _ in k8s.tier_workloads(t); o := service(n)],
			array.concat(
				array.concat(
					[default_deny, snapshot_policy],
					[o | some i in k8s.shard_indexes(t); some o in [snapshot(t, i), snapshot_claim(t, i)]],
				),
				[o | some n, _ in k8s.tier_workloads(t); o := allow(n)],
			),
		),
	),
)

# Apply a JSON patch to the object of that kind and name, leave the others as they are.
patch(objs, kind, n, ops) := [p |
	some o in objs
	p := patched(o, kind, n, ops)
]

patched(o, kind, n, ops) := json.patch(o, ops) if {
	o.kind == kind
	o.metadata.name == n
} else := o

# Drop the object of that kind and name.
without(objs, kind, n) := [o | some o in objs; not same(o, kind, n)]

same(o, kind, n) if {
	o.kind == kind
	o.metadata.name == n
}

tier_input(t, objs) := {"tier": t, "objects": objs}
