"""`edgeadm status`: read the cluster and say what the edge capabilities are doing (changes nothing)."""

from __future__ import annotations

from edgeadm import kube as kube_seam
from edgeadm import status
from edgeadm.kube import kubeconfig
from edgeadm.options import StatusOptions

__all__ = ["StatusOptions", "collect", "status"]


def collect(kubeconfig_flag: str | None, options: StatusOptions) -> status.ClusterStatus:
    kube = kube_seam.connect_fast(kubeconfig.resolve(kubeconfig_flag))  # read-only, known kinds: no discovery
    return status.gather(kube, site_label=options.site_label, site=options.site)
