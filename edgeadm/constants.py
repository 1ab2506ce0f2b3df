"""Names, labels and ports shared by addon, detach, token and join (facts carried over from SuperEdge)."""

EDGE_NAMESPACE = "edge-system"
EDGE_LABEL_KEY = "superedge.io/edge-node"  # the user's document's label (SuperEdge v0.3-v0.6 naming)
EDGE_LABEL_VALUE = "enable"
EDGE_LABEL = f"{EDGE_LABEL_KEY}={EDGE_LABEL_VALUE}"
LEGACY_EDGE_LABEL_KEY = "superedge.io/node-edge"  # newer SuperEdge releases; honoured by detach's guard
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
BOOTSTRAP_GROUP = "system:bootstrappers:kubeadm:default-node-token"

DEFAULT_IMAGE_REPOSITORY = "superedge.tencentcloudcr.com/superedge"
DEFAULT_EDGE_VERSION = "v0.9.0"

EDGE_VIRTUAL_ADDR = "169.254.20.11"  # lite-apiserver listens here on each edge node (dummy NIC)
LITE_APISERVER_PORT = 51003
TUNNEL_EGRESS_PORT = 8000  # tunnel-cloud's HTTP CONNECT port for the API server (Service tunnel-cloud-internal)
GRID_WRAPPER_ADDR = "http://127.0.0.1:51006"  # application-grid-wrapper, what edge kube-proxy talks to
LOCAL_ENDPOINT_ANNOTATION = "superedge.io/local-endpoint"
LOCAL_PORT_ANNOTATION = "superedge.io/local-port"

MIN_SERVER_MINOR = 31  # oldest Kubernetes minor we support and test (tests/harness/versions.py)
MAX_TESTED_MINOR = 37  # newest minor CI tests (tests/harness/versions.py); newer gets a warning

# The order addon applies templates in; detach walks the record in reverse.
TUNNEL_TEMPLATES = ("tunnel-cloud.yaml", "tunnel-edge.yaml")
# Objects earlier edgeadm versions created and this one no longer does (the pre-0.8 tunnel-coredns design: tunnel-cloud
# v0.9.0 has no kubelet-port listener for it to resolve to). A re-run deletes them when its record says it made them.
RETIRED_OBJECTS = (
    {"apiVersion": "apps/v1", "kind": "Deployment", "name": "tunnel-coredns", "namespace": EDGE_NAMESPACE},
    {"apiVersion": "v1", "kind": "Service", "name": "tunnel-coredns", "namespace": EDGE_NAMESPACE},
    {"apiVersion": "v1", "kind": "ConfigMap", "name": "tunnel-coredns", "namespace": EDGE_NAMESPACE},
)
EDGE_HEALTH_TEMPLATES = ("edge-health.yaml", "edge-health-admission.yaml", "edge-health-webhook.yaml")
SERVICE_GROUP_TEMPLATES = ("service-group-crds.yaml", "application-grid-controller.yaml",
                           "application-grid-wrapper.yaml")
PREREQ_TEMPLATES = ("bootstrap-rbac.yaml", "cluster-info.yaml", "kubeadm-config.yaml", "kubelet-config.yaml")
EDGE_INFO_TEMPLATE = "edge-info.yaml"
# The node label whose value names a node's site (edge-health checks peers within a site; status groups by it).
DEFAULT_SITE_LABEL = "topology.kubernetes.io/zone"
