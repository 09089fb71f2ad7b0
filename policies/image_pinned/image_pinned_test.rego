package sutra.image_pinned

import data.sutra.lib.fixtures as f

good := f.tier_objects("low")

image_path := "/spec/template/spec/containers/0/image"

with_image(image) := f.patch(good, "Deployment", "sutra-api", [{"op": "replace", "path": image_path, "value": image}])

test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_latest_denied if {
	objs := with_image("ghcr.io/sutra-ai/sutra-api:latest")
	some v in deny with input as f.tier_input("low", objs)
	v.name == "sutra-api"
	contains(v.msg, `"ghcr.io/sutra-ai/sutra-api:latest"`)
}

test_untagged_denied if {
	objs := with_image("ghcr.io/sutra-ai/sutra-api")
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_registry_port_is_not_a_tag if {
	objs := with_image("registry.local:5000/sutra-api")
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_registry_port_with_tag_allowed if {
	objs := with_image("registry.local:5000/sutra-api:1.2.3")
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_digest_allowed if {
	objs := with_image("ghcr.io/sutra-ai/sutra-api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_short_digest_denied if {
	objs := with_image("ghcr.io/sutra-ai/sutra-api@sha256:0123")
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_init_container_checked if {
	objs := f.patch(good, "Deployment", "sutra-api", [{"op": "add", "path": "/spec/template/spec/initContainers", "value": [{"name": "init", "image": "busybox"}]}])
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "container init of Deployment sutra-api")
}
