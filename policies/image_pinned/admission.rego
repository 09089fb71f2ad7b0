# The image_pinned checks on one object, shared by the gate (image_pinned.rego, over a whole
# tier) and the Gatekeeper template generated from this file (one object at admission).
package sutra.image_pinned.admission

import data.sutra.lib.manifest

# The kinds the checks look at: the Gatekeeper constraint matches exactly these.
kinds := manifest.workload_kinds

# The part after the registry host (which may carry a :port).
last_segment(image) := parts[count(parts) - 1] if {
	parts := split(image, "/")
}

tag(image) := t if {
	not contains(image, "@")
	parts := split(last_segment(image), ":")
	count(parts) == 2
	t := parts[1]
}

pinned(image) if regex.match(`@sha256:[0-9a-f]{64}$`, image)

pinned(image) if {
	t := tag(image)
	t != ""
	t != "latest"
}

# What is wrong with object o, one message per problem (empty when compliant).
messages(o, _) := {msg |
	o.kind in kinds
	some entry in manifest.all_containers(o)
	image := object.get(entry.container, "image", "")
	not pinned(image)
	msg := sprintf(
		"container %s of %s uses image %q without a pinned version: set a release tag (not latest) or an @sha256 digest, e.g. with images: in the overlay",
		[entry.container.name, manifest.describe(o), image],
	)
}
