# tests/kubernetes/kubernetes.mk - the Kubernetes manifests (CONTRACT §8,
# conf/kubernetes/, made by platform/tools/k8s-manifests): generated from the
# one list, rendered without kubectl (and compared with `kubectl kustomize`
# where it exists), validated against the API schemas (npm kubernetes-models,
# installed by tests/kubernetes/models.sh into $(CRM_CACHE)/npm-<lock hash>),
# each pod against its Pod Security Standard, the project's rules, the
# commands of platform/stack/k8s.sh; then `podman kube play` of the rendered
# baseline overlay with an order end to end (own ports and names:
# tests/kubernetes/test_kube_play.py). K8S_KUBE_PLAY=0 leaves out the run.
.PHONY: k8s-test k8s-manifests
k8s-test: services-all
	BUILD=$(BUILD) CRM_CACHE=$(CRM_CACHE) /usr/bin/python3 -m pytest -q \
	    -p no:cacheprovider -rfEx tests/kubernetes

# Rewrite conf/kubernetes/ after a change of apps/*/service.decl or conf/.
k8s-manifests:
	platform/tools/k8s-manifests write
