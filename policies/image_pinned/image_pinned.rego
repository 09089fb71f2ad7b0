# Every container image names a version: a tag other than `latest`, or a digest. Promotion is
# copying pinned tags between overlays; a floating tag makes a tier run whatever was pushed last.
#
# The checks on one object are in admission.rego, which Gatekeeper also enforces in the cluster.
package sutra.image_pinned

import data.sutra.image_pinned.admission
import data.sutra.lib.k8s

deny contains {"kind": o.kind, "name": o.metadata.name, "msg": msg} if {
	some o in k8s.objects
	some msg in admission.messages(o, {})
}
