import { migrate } from "../../adapters/postgres/migrate.js";
import { createPool } from "../../adapters/postgres/pool.js";
import { loadConfig } from "../../config.js";
import { parseArgs } from "../args.js";
import type { Command } from "../command.js";

export const migrateCommand: Command = {
  name: "migrate",
  usage: "migrate",
  summary: "Apply pending Postgres migrations",
  async run(args) {
    parseArgs(args, {});
    const config = loadConfig();
    const pool = createPool(config.databaseUrl, 1);
    try {
      const applied = await migrate(pool, (m) => console.log(`applying ${m.version}_${m.name}`));
      console.log(applied.length ? `applied ${applied.length} migration(s)` : "schema is up to date");
    } finally {
      await pool.end();
    }
  },
};
