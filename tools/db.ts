/**
 * Starts the local database: mongo-java-server with its file-backed (H2) store under .data/,
 * unless MONGODB_URI is set. Prints how to reach it and stays up until Ctrl-C.
 */
import { MongoClient } from 'mongodb';
import { startMongoServer } from './mongo-server.js';
import { loadConfig } from '../lib/config/index.js';
import { createTaskStore } from '../lib/store/create.js';

const port = Number(process.env.TASKMESH_DB_PORT ?? 27018);
const file = process.env.TASKMESH_DB_FILE ?? '.data/taskmesh.mv';

async function main() {
  const external = process.env.MONGODB_URI;
  const server = external ? undefined : await startMongoServer({ backend: 'h2', file, port });
  const uri = external ?? server!.uri;
  const config = loadConfig({ env: { ...process.env, MONGODB_URI: uri } });
  const client = await new MongoClient(uri).connect();
  const store = createTaskStore(client.db(config.MongoDB.DatabaseName), config);
  await store.ensureIndexes();
  const stats = await store.stats();
  await client.close();
  console.log(
    JSON.stringify({
      msg: 'database ready',
      uri,
      database: config.MongoDB.DatabaseName,
      backend: server ? `mongo-java-server h2 (${file})` : 'external',
      tasks: stats.total,
    }),
  );
  console.log(`\nDatabase ready at ${uri} (database "${config.MongoDB.DatabaseName}", ${stats.total} tasks kept).`);
  console.log(`Join it from another shell:  MONGODB_URI=${uri} npm run worker`);
  console.log('Ctrl-C stops it; the data stays in', server ? file : 'your server');
  const stop = async () => {
    await server?.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (!server) process.exit(0);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
