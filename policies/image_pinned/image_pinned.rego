# Every container image, init containers too, is pinned by digest (`name:tag@sha256:...`). A
# tag can be pushed again and a node's cached copy may differ from the registry's; a digest
# names exactly the bytes that were built, tested in low and promoted. The tag stays beside it
# for readers and must not be `latest`.
#
# The checks on one object are in admission.rego, which Gatekeeper also enforces in the cluster.
package sutra.image_pinned

import data.sutra.image_pinned.admission
import data.sutra.lib.k8s

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.objects
	some msg in admission.messages(o, {})
}
