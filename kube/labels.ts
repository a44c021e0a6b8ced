// Well-known labels and annotations of the Kubernetes API that kube-nftlb reads. (The label with
// which a Service names its proxy is part of the annotation contract: annotations/contract.ts.)

/** Set on every EndpointSlice by its controller: the name of the Service it belongs to. */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

/** Set on EndpointSlices by their controller: when the change they carry was triggered. */
export const TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time";
