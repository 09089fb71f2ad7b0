package sutra.secrets_as_files

import data.sutra.lib.fixtures as f

good := f.tier_objects("low")

secret_env := {"name": "SUTRA_CONTROL_TOKEN", "valueFrom": {"secretKeyRef": {"name": "sutra-control-token", "key": "token"}}}

file_env := {"name": "SUTRA_CONTROL_TOKEN_FILE", "value": "/run/secrets/sutra-control/token"}

with_env(kind, name, list, value) := f.patch(good, kind, name, [{"op": "add", "path": sprintf("/spec/template/spec/containers/0/%s", [list]), "value": value}])

test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_secret_file_path_in_env_allowed if {
	objs := with_env("Deployment", "sutra-control", "env", [file_env])
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_config_map_in_env_allowed if {
	objs := with_env("Deployment", "sutra-api", "envFrom", [{"configMapRef": {"name": "settings"}}])
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_secret_key_ref_denied if {
	objs := with_env("Deployment", "sutra-control", "env", [file_env, secret_env])
	some v in deny with input as f.tier_input("low", objs)
	v.name == "sutra-control"
	contains(v.msg, `reads key "token" of Secret sutra-control-token into env SUTRA_CONTROL_TOKEN`)
}

test_env_from_secret_denied if {
	objs := with_env("StatefulSet", "storage-server", "envFrom", [{"secretRef": {"name": "storage"}}])
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_init_container_denied if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "add", "path": "/spec/template/spec/initContainers", "value": [{"name": "init", "image": "x", "env": [secret_env]}]}])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "container init of Deployment sutra-api")
}
