package sutra.image_pinned

import data.sutra.lib.fixtures as f

good := f.tier_objects("low")

image_path := "/spec/template/spec/containers/0/image"

digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

with_image(image) := f.patch(good, "Deployment", "sutra-api", [{"op": "replace", "path": image_path, "value": image}])

with_init(image) := f.patch(good, "Deployment", "sutra-api", [{"op": "add", "path": "/spec/template/spec/initContainers", "value": [{"name": "init", "image": image}]}])

test_compliant_tier_allowed if {
	objs := good
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_tag_and_digest_allowed if {
	objs := with_image(sprintf("ghcr.io/sutra-ai/sutra-api:0.2.0@%s", [digest]))
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_digest_without_tag_allowed if {
	objs := with_image(sprintf("ghcr.io/sutra-ai/sutra-api@%s", [digest]))
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_registry_port_tag_and_digest_allowed if {
	objs := with_image(sprintf("registry.local:5000/sutra-api:1.2.3@%s", [digest]))
	count(deny) == 0 with input as f.tier_input("low", objs)
}

test_release_tag_without_digest_denied if {
	objs := with_image("ghcr.io/sutra-ai/sutra-api:0.1.0")
	some v in deny with input as f.tier_input("low", objs)
	v.name == "sutra-api"
	contains(v.msg, `"ghcr.io/sutra-ai/sutra-api:0.1.0", which is not pinned by digest`)
}

test_latest_denied if {
	objs := with_image("ghcr.io/sutra-ai/sutra-api:latest")
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, `"ghcr.io/sutra-ai/sutra-api:latest"`)
}

test_latest_label_beside_a_digest_denied if {
	objs := with_image(sprintf("ghcr.io/sutra-ai/sutra-api:latest@%s", [digest]))
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "is labelled latest")
}

test_untagged_denied if {
	objs := with_image("ghcr.io/sutra-ai/sutra-api")
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_short_digest_denied if {
	objs := with_image("ghcr.io/sutra-ai/sutra-api@sha256:0123")
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_uppercase_digest_denied if {
	objs := with_image(sprintf("ghcr.io/sutra-ai/sutra-api:0.1.0@%s", [upper(digest)]))
	count(deny) == 1 with input as f.tier_input("low", objs)
}

test_init_container_checked if {
	objs := with_init("busybox:1.36")
	some v in deny with input as f.tier_input("low", objs)
	contains(v.msg, "container init of Deployment sutra-api")
}

test_init_container_with_digest_allowed if {
	objs := with_init(sprintf("busybox:1.36@%s", [digest]))
	count(deny) == 0 with input as f.tier_input("low", objs)
}
