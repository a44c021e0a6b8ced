// What may serve as nftlb's key. nftlb takes any string, but the syncer must also keep the key out
// of every line it writes, and it does that by masking the key's text wherever it appears
// (nftlb/transport.ts's redact, runtime/log.ts's scrub). A key of a letter or two cannot be told
// apart from ordinary words that way (a one-letter key "k" turned kube-nftlb-sentinel into
// "<key>ube-nftlb-sentinel"), and is guessed at once anyway; the node pod's key is 64 hex digits.
// The key travels in nftlb's `Key:` header: a control character cannot (Node refuses it), and a
// non-ASCII one would go as Latin-1, not as the UTF-8 bytes nftlb was given.

/** The fewest characters a key may have: the lab's keys (16 of base64url, 96 bits) and up. */
export const MIN_KEY_LENGTH = 16;

/** Why `key` (already trimmed) cannot be nftlb's key, never quoting it; undefined when it can. */
export function keyProblem(key: string): string | undefined {
  if (key === "") return "is empty";
  if (/[\r\n]/.test(key)) return "holds more than one line";
  if (/[^\x20-\x7e]/.test(key))
    return "holds a control or non-ASCII character, which nftlb's Key header cannot carry as written";
  if (key.length < MIN_KEY_LENGTH)
    return `holds a key shorter than ${MIN_KEY_LENGTH} characters: too short to keep out of the log (and to resist guessing); make one with \`head -c 32 /dev/urandom | od -A n -t x1 | tr -d ' \\n'\``;
  return undefined;
}
