# syntax=docker/dockerfile:1
# Two images from one file:
#   docker build --target runtime -t ghcr.io/kube-nftlb/kube-nftlb:0.1.0 .   (webhook, syncer, certs)
#   docker build --target nftlb   -t ghcr.io/kube-nftlb/nftlb:0.1.0 .        (Debian's nftlb)
# No key, kubeconfig or certificate goes into either image: the DaemonSet makes the nftlb key per
# pod, the syncer uses its service account, the certs Job writes the webhook's TLS Secret.
# test/deploy-image.test.ts builds the runtime stage's layout without a container engine.

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: the TypeScript build (tsconfig.build.json → dist/) -----------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# .dockerignore lets in only the sources tsconfig.build.json compiles.
COPY . .
RUN npm run build

# --- production dependencies only -----------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No production dependency has an install script; refusing them keeps the layer reproducible.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# nft for `kube-nftlb node-rules`, the DaemonSet's rules container (uid 0 with NET_ADMIN only),
# which writes kube-nftlb's own table inet kube-nftlb; no other command of this image runs it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nftables \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
# Numeric, so runAsNonRoot can verify it without an /etc/passwd entry.
USER 65532:65532
# node is PID 1 and gets SIGTERM itself (no shell, no npm in between); the commands install
# their own SIGTERM handlers, which PID 1 needs.
ENTRYPOINT ["node", "/app/bin/kube-nftlb.js"]
CMD ["--help"]

# --- nftlb: Debian's package, the daemon the syncer drives ------------------------------------------
FROM debian:bookworm-slim AS nftlb
# nftlb 1.0.7 is what every test here runs against; nftables adds `nft` for inspecting rules.
RUN apt-get update \
 && apt-get install -y --no-install-recommends 'nftlb=1.0.7-*' nftables \
 && rm -rf /var/lib/apt/lists/*
# The DaemonSet gives the command (key from a file, stdout discarded because nftlb prints its key
# there); run bare, nftlb would invent a key and print it.
CMD ["nftlb", "--help"]
