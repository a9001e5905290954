# syntax=docker/dockerfile:1
#
# sockeye: one image, every mode (operator, sidecar, audit, probe). Build: docker build -t sockeye .
#
# Node.js 24 LTS on Debian bookworm, slim, pinned by digest (24.18.0 when pinned) so that a rebuild
# gets the same runtime; bump the digest deliberately. Both stages use the same image, so the
# bundles are built by the same Node that runs them.
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

# ---- build: every dependency, then tsc turns src/ into dist/ and esbuild bundles it (dist/bundle/) ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" would build before the sources are here; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The bundles an installed sockeye runs (dist/bundle/, dist/probe/worker.cjs) are built by this script.
COPY scripts/bundle.ts ./scripts/
RUN npm run build

# ---- runtime: the bundles, which carry their dependencies; no node_modules ---------------------------
# Every dependency sockeye loads is inside the bundles (esbuild fails the build on one it cannot
# follow), so the image holds no node_modules: ~107 MB and 132 packages less to ship and to scan,
# none of which a run ever loaded. tsc's dist/ (what a package without bundles would run) stays out too.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the user that runs sockeye: the tree is read-only even where
# the pod's root filesystem is not.
COPY --from=build /src/dist/bundle ./dist/bundle
COPY --from=build /src/dist/probe/worker.cjs ./dist/probe/worker.cjs
COPY package.json ./
COPY bin ./bin
# A numeric non-root UID/GID (the chart's runAsUser), so that Kubernetes can verify runAsNonRoot.
USER 65532:65532
# /healthz, /readyz and /metrics of `sockeye operator` and `sockeye sidecar`.
EXPOSE 8080
# node runs as PID 1 (exec form, no npm and no shell in between, which would swallow signals);
# sockeye handles SIGTERM and SIGINT itself: it stops taking work, finishes in-flight reconciles,
# releases its Lease and exits. It starts no child processes, so there are no zombies to reap.
# Node's heap limit comes from NODE_OPTIONS, which node reads itself: the Helm chart derives it from
# the container's memory limit, so no wrapper re-executes node (`docker run -m` users set it).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/sockeye.js"]
CMD ["--help"]
