# The image_pinned checks on one object, shared by the gate (image_pinned.rego, over a whole
# tier) and the Gatekeeper template generated from this file (one object at admission).
package sutra.image_pinned.admission

import data.sutra.lib.manifest

# The kinds the checks look at: the Gatekeeper constraint matches exactly these.
kinds := manifest.workload_kinds

# `name[:tag]@sha256:<64 hex>`: the digest is the pin, the tag only a label for readers.
digest_pattern := `@sha256:[0-9a-f]{64}$`

# The name and tag, without the digest.
named(image) := split(image, "@")[0]

# The part after the registry host (which may carry a :port).
last_segment(image) := parts[count(parts) - 1] if {
	parts := split(named(image), "/")
}

tag(image) := t if {
	parts := split(last_segment(image), ":")
	count(parts) == 2
	t := parts[1]
}

problem(image) := "is not pinned by digest: set images[].digest (sha256 of the pushed manifest) beside newTag in the overlay" if {
	not regex.match(digest_pattern, image)
}

problem(image) := "is labelled latest, which tells a reader nothing: keep the release tag beside the digest" if {
	regex.match(digest_pattern, image)
	tag(image) == "latest"
}

# What is wrong with object o, one message per problem (empty when compliant).
messages(o, _) := {msg |
	o.kind in kinds
	some entry in manifest.all_containers(o)
	image := object.get(entry.container, "image", "")
	msg := sprintf(
		"container %s of %s uses image %q, which %s",
		[entry.container.name, manifest.describe(o), image, problem(image)],
	)
}
