# No container, init containers too, takes a Secret through its environment (env valueFrom
# secretKeyRef, envFrom secretRef): the Secret is mounted as a read-only volume and the service
# reads the file a `SUTRA_X_FILE` variable names (sutra.common.settings). An environment is
# inherited by every child process, shown by `/proc/PID/environ` and copied into crash reports
# and debugging dumps; a file is read once by the one process that needs it.
package sutra.secrets_as_files

import data.sutra.lib.k8s

fix := "mount the Secret as a read-only volume and set the variable's _FILE twin to the file's path"

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	some entry in k8s.all_containers(o)
	some env in object.get(entry.container, "env", [])
	ref := env.valueFrom.secretKeyRef
	msg := sprintf(
		"container %s of %s reads key %q of Secret %s into env %s: %s",
		[entry.container.name, k8s.describe(o), ref.key, ref.name, env.name, fix],
	)
}

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	some entry in k8s.all_containers(o)
	some source in object.get(entry.container, "envFrom", [])
	ref := source.secretRef
	msg := sprintf(
		"container %s of %s loads every key of Secret %s into its env (envFrom): %s",
		[entry.container.name, k8s.describe(o), ref.name, fix],
	)
}
