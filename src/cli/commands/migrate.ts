import { migrate } from "../../adapters/postgres/migrate.js";
import { createPool } from "../../adapters/postgres/pool.js";
import type { Command } from "../command.js";

export const migrateCommand: Command = {
  name: "migrate",
  summary:
    "Apply pending Postgres migrations (the worker and the api refuse to start until they are applied)",
  examples: ["MODELTAP_DATABASE_URL=postgres://modeltap@db/modeltap modeltap migrate"],
  async run({ config }) {
    const pool = createPool(config.databaseUrl, 1);
    try {
      const applied = await migrate(pool, (m) => console.log(`applying ${m.version}_${m.name}`));
      console.log(applied.length ? `applied ${applied.length} migration(s)` : "schema is up to date");
    } finally {
      await pool.end();
    }
  },
};
