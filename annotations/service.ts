// The slice of a Service that the annotation contract reads. Loose: unknown fields pass through
// untouched, because callers patch the raw object and must never lose what they did not model.
import { z } from "zod";
import { conforms } from "./conforms.ts";

const servicePort = z.looseObject({
  name: z.string().optional(),
  protocol: z.enum(["TCP", "UDP", "SCTP"]).optional(),
  port: z.number().int(),
  targetPort: z.union([z.number().int(), z.string()]).optional(),
  nodePort: z.number().int().optional(),
});

export const serviceSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.literal("Service"),
  metadata: z.looseObject({
    name: z.string().optional(),
    generateName: z.string().optional(),
    namespace: z.string().optional(),
    annotations: z.record(z.string(), z.unknown()).nullish(),
    labels: z.record(z.string(), z.string()).nullish(),
  }),
  spec: z
    .looseObject({
      type: z.enum(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]).optional(),
      clusterIP: z.string().optional(),
      clusterIPs: z.array(z.string()).optional(),
      ports: z.array(servicePort).nullish(),
      externalIPs: z.array(z.string()).nullish(),
      sessionAffinity: z.enum(["None", "ClientIP"]).optional(),
      sessionAffinityConfig: z
        .looseObject({
          clientIP: z.looseObject({ timeoutSeconds: z.unknown().optional() }).nullish(),
        })
        .nullish(),
      internalTrafficPolicy: z.enum(["Cluster", "Local"]).optional(),
      externalTrafficPolicy: z.enum(["Cluster", "Local"]).optional(),
    })
    .default({}),
  status: z
    .looseObject({
      loadBalancer: z
        .looseObject({
          ingress: z.array(z.looseObject({ ip: z.string().optional() })).nullish(),
        })
        .nullish(),
    })
    .optional(),
});

export type Service = z.infer<typeof serviceSchema>;
export type ServicePort = z.infer<typeof servicePort>;

const isService = conforms(serviceSchema);

/** Parse a Service, or say in one line why the object is not one. */
export function parseService(obj: unknown): { ok: true; service: Service } | { ok: false; error: string } {
  // Nearly every Service already conforms: used as it is, not copied by zod (annotations/conforms.ts).
  if (isService(obj)) return { ok: true, service: obj };
  const r = serviceSchema.safeParse(obj);
  if (r.success) return { ok: true, service: r.data };
  const issue = r.error.issues[0];
  const where = issue?.path.join(".") ?? "";
  return {
    ok: false,
    error: `not a valid Service${where ? ` at ${where}` : ""}: ${issue?.message ?? "invalid"}`,
  };
}
