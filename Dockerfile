# syntax=docker/dockerfile:1
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/prisma-generate.mjs scripts/build-dashboard.mjs scripts/
COPY dashboard/src dashboard/src
COPY prisma prisma
COPY prisma.config.ts ./
# postinstall generates the Prisma client (no native engine download needed) and builds the dashboard.
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=deps /app/src/generated src/generated
COPY --from=deps /app/dashboard/dist dashboard/dist
COPY package.json prisma.config.ts ./
COPY prisma prisma
COPY src src
COPY scripts scripts
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
# Migrations are applied by the service at start-up. One node process (no tsx wrapper), so SIGTERM
# reaches the service's own handler: /ready 503, drain, release leases, exit 0.
CMD ["node", "--import", "tsx", "src/main.ts"]
