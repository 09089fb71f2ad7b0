# Every container image names a version: a tag other than `latest`, or a digest. Promotion is
# copying pinned tags between overlays; a floating tag makes a tier run whatever was pushed last.
package sutra.image_pinned

import data.sutra.lib.k8s

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

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.workloads
	some entry in k8s.all_containers(o)
	image := object.get(entry.container, "image", "")
	not pinned(image)
	msg := sprintf(
		"container %s of %s uses image %q without a pinned version: set a release tag (not latest) or an @sha256 digest, e.g. with images: in the overlay",
		[entry.container.name, k8s.describe(o), image],
	)
}
