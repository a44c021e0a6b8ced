// What admission consults on every write: the webhook configurations, and the validating
// admission policies and their bindings, by name. Each store keeps one copy of each list, taken
// again only after a write to that resource (kube-apiserver's admission plugins read them from an
// informer's cache, not from etcd per request). Listing them per write deep-copied every
// configuration on every write to any resource: most of the stand-in's copies under load.
import { findResource } from "./resources.ts";
import type { Obj, Store } from "./store.ts";

const GROUP = "admissionregistration.k8s.io";

/** Per store: resource → its objects sorted by name; a resource is absent until read or after a write to it. */
const views = new WeakMap<Store, Map<string, readonly Obj[]>>();

/** Objects shared by every write: frozen, so a caller that would change one fails loudly instead. */
function frozen<T>(v: T): T {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) frozen(x);
  }
  return v;
}

/** The `resource` objects of admissionregistration.k8s.io/v1, sorted by name; shared and frozen. */
export function admissionConfigs(store: Store, resource: string): readonly Obj[] {
  let view = views.get(store);
  if (view === undefined) {
    const fresh = new Map<string, readonly Obj[]>();
    store.subscribe((e) => {
      if (e.res.group === GROUP) fresh.delete(e.res.resource);
    });
    views.set(store, (view = fresh));
  }
  let objs = view.get(resource);
  if (objs === undefined) {
    const res = findResource(GROUP, "v1", resource);
    objs = frozen(
      res === undefined
        ? []
        : store.list(res).sort((x, y) => (x.metadata.name ?? "").localeCompare(y.metadata.name ?? "")),
    );
    view.set(resource, objs);
  }
  return objs;
}
