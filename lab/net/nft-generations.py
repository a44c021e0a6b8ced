# One line per nf_tables generation committed in the network namespace it runs in (lab/net/capture.ts
# starts it with KNL_CAPTURE_NFT=generations): wall-clock ms at receipt, generation id, the
# committing pid and process, and how many netlink events of each kind the commit carried (one
# event may hold many set elements). Python because node has no netlink socket; stdlib only.
import socket, struct, sys, time
NETLINK_NETFILTER, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES = 12, 270, 1, 7
NAMES = {0: "newtable", 2: "deltable", 3: "newchain", 5: "delchain", 6: "newrule", 8: "delrule",
         9: "newset", 11: "delset", 12: "newsetelem", 14: "delsetelem", 15: "newgen"}
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
s.setsockopt(socket.SOL_SOCKET, 33, 1 << 27)  # SO_RCVBUFFORCE
s.bind((0, 0))
s.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES)
print("listening", flush=True)
counts = {}
while True:
    try:
        data = s.recv(1 << 20)
    except OSError as e:
        print("%.3f ERROR %s" % (time.time() * 1000, e), flush=True)
        counts = {}
        continue
    off = 0
    while off + 16 <= len(data):
        ln, typ, flags, seq, pid = struct.unpack_from("=IHHII", data, off)
        if ln < 16:
            break
        if typ >> 8 == 10:
            msg = typ & 0xff
            name = NAMES.get(msg, str(msg))
            if msg == 15:
                attrs, a = {}, off + 20
                while a + 4 <= off + ln:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    attrs[atype & 0x7fff] = data[a + 4:a + alen]
                    a += (alen + 3) & ~3
                gen = struct.unpack(">I", attrs[1])[0] if 1 in attrs else -1
                gpid = struct.unpack(">I", attrs[2])[0] if 2 in attrs else -1
                proc = attrs.get(3, b"").rstrip(b"\0").decode(errors="replace")
                detail = " ".join("%s=%d" % kv for kv in sorted(counts.items()))
                print("%.3f gen=%d pid=%d %s %s" % (time.time() * 1000, gen, gpid, proc, detail), flush=True)
                counts = {}
            else:
                counts[name] = counts.get(name, 0) + 1
        off += (ln + 3) & ~3
