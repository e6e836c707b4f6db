import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { mongoUri } from './services.js';

export interface TestDb {
  uri: string;
  name: string;
  client: MongoClient;
  db: Db;
  drop(): Promise<void>;
}

/** A fresh database on the suite's server (mongo-java-server, or MONGODB_URI), dropped by `drop()`. */
export async function openTestDb(prefix = 't'): Promise<TestDb> {
  const uri = await mongoUri();
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const client = await new MongoClient(uri).connect();
  const db = client.db(name);
  return {
    uri,
    name,
    client,
    db,
    drop: async () => {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}
