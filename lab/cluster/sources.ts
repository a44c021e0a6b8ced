// The controllers read the stand-in's store directly (they run in its process) and write through
// its HTTPS API. A Source is one resource of the store: get, list, and a change feed.
import { findResource } from "../apiserver/resources.ts";
import type { Store } from "../apiserver/store.ts";
import type { Source } from "../controllers/endpointslice-controller.ts";

export function storeSource<T>(store: Store, group: string, resource: string): Source<T> {
  const res = findResource(group, "v1", resource);
  if (res === undefined) throw new Error(`the API stand-in does not serve ${resource}`);
  return {
    get: (ns, name) => store.get(res, ns, name) as T | undefined,
    list: (ns, where) => store.list(res, ns, where as ((o: unknown) => boolean) | undefined) as T[],
    watch: (onChange) => store.subscribe((e) => e.res === res && onChange(e.object as T)),
  };
}
