import { MongoClient, type Db } from 'mongodb';
import type { AppConfig } from '../config/load.js';
import { redactConnectionString } from '../config/redact.js';
import { errorMessage } from '../errors/message.js';

export interface Database {
  client: MongoClient;
  db: Db;
  close(): Promise<void>;
}

export class DatabaseConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseConnectionError';
  }
}

/** Connects with the MongoDB section. The URI in errors is redacted (no password). */
export async function connectDatabase(
  config: AppConfig['MongoDB'],
  opts: { serverSelectionTimeoutMS?: number; appName?: string } = {},
): Promise<Database> {
  const client = new MongoClient(config.ConnectionString, {
    serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 10_000,
    appName: opts.appName ?? 'taskmesh',
  });
  try {
    await client.connect();
  } catch (e) {
    throw new DatabaseConnectionError(
      `cannot connect to MongoDB at ${redactConnectionString(config.ConnectionString)} (MongoDB:ConnectionString): ${redactConnectionString(errorMessage(e))}`,
      { cause: e },
    );
  }
  const db = client.db(config.DatabaseName);
  return { client, db, close: () => client.close() };
}
