# syntax=docker/dockerfile:1
# portal-sync image: `docker build -t portal-sync .`, then see docker-compose.yml.
# Build stage: full install (dev deps for tsc), compile to dist/, then drop dev deps.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# A lockfile written on another platform can lack this one's optional binaries; fall back like .ci/run.
RUN npm ci --no-audit --no-fund || (echo "npm ci failed; falling back to npm install" && npm install --no-audit --no-fund)
COPY tsconfig.json ./
COPY src ./src
# The build's copy step: tsc compiles only .ts, this puts src/**/*.lua (the Redis scripts) beside the compiled files.
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Runtime stage: production node_modules, compiled dist, the bin shim and config/ (read from the package root).
FROM node:24-bookworm-slim AS runtime
# tini as PID 1 forwards SIGTERM to node, which closes gracefully and exits 0, and reaps zombies.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node bin ./bin
COPY --chown=node:node config ./config
# The Salesforce metadata package that `portal-sync setup salesforce` describes and verifies.
COPY --chown=node:node salesforce ./salesforce
# The Help Center kit, which `portal-sync demo` serves on its Zendesk stand-in.
COPY --chown=node:node portal ./portal
USER node
EXPOSE 3000
# Liveness on the port this container listens on (PORT, 3000 unless a role sets another); no curl in slim images.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "bin/portal-sync.js", "start"]
