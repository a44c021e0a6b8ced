// Interface names and MACs as nftlb takes them (dsr/stlsdnat: `iface`, `oface`, `ether-addr`).
// One definition for the client's pre-send check and the syncer's and render's flags.

/** Linux interface names: 1 to 15 bytes, no "/" nor whitespace (a /sys path, and part of nft rules). */
export const IFACE_NAME = /^[A-Za-z0-9_.@:-]{1,15}$/;
/** An Ethernet MAC, six hex bytes with colons, either case. */
export const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export const isIfaceName = (name: string): boolean => IFACE_NAME.test(name);

/** A MAC nftlb can forward to: well formed and not all zeros (what lo and tunnels show). */
export const isUsableMac = (mac: string): boolean => MAC.test(mac) && !/^(00:){5}00$/.test(mac);
