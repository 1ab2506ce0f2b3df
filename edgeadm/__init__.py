"""edgeadm: give an existing Kubernetes cluster SuperEdge's edge capabilities and join edge nodes to it."""

__version__ = "0.1.0"
