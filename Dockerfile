# modeltap images (used by docker-compose.yml). The default target is the product: collector,
# worker, api, migrate and captures, with production dependencies only. The `dev-tools` target adds
# the development tools (the demo inference server of docker-compose.yml); they never ship in the
# product image.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY src ./src
RUN npm run build

FROM build AS dev-tools
COPY tools ./tools
COPY test/support ./test/support
RUN npm run build:tools
ENTRYPOINT ["node", "dist-tools/tools/main.js"]

FROM build AS production-deps
RUN npm prune --omit=dev

FROM node:20-bookworm-slim AS product
WORKDIR /app
ENV NODE_ENV=production
COPY --from=production-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY proto ./proto
COPY src/adapters/postgres/migrations ./src/adapters/postgres/migrations
USER node
ENTRYPOINT ["node", "dist/cli/main.js"]
