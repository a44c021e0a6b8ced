export * from "./contract.ts";
export * from "./service.ts";
export * from "./balanced.ts";
export * from "./evaluate.ts";
export * from "./defaults.ts";
export { nearest } from "./suggest.ts";
export * from "./source-ranges.ts";
export { externalPolicyLocal, farmMode, clientAddressWarnings } from "./client-address.ts";
export { conforms } from "./conforms.ts";
