import type { Migration } from './index.ts';

/**
 * Every command run on a client (MCP, REST, the browser, a job's end, a fan-out row, a terminal
 * opened), for the history search. `at` is ms since the epoch. `command_history_fts` is an
 * external-content FTS5 index over `cmd`, kept in step by triggers.
 */
export const migration: Migration = {
  version: 6,
  name: 'command-history',
  up: `
    CREATE TABLE command_history (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      at INTEGER NOT NULL,
      caller TEXT NOT NULL,
      source TEXT NOT NULL,
      client_uuid TEXT NOT NULL,
      cmd TEXT NOT NULL,
      cwd TEXT,
      exit_code INTEGER,
      outcome TEXT NOT NULL,
      duration_ms INTEGER NOT NULL,
      job_id TEXT
    );
    CREATE INDEX command_history_at ON command_history (at, id);
    CREATE INDEX command_history_client_at ON command_history (client_uuid, at, id);
    CREATE VIRTUAL TABLE command_history_fts USING fts5(
      cmd, content='command_history', content_rowid='id', tokenize='unicode61'
    );
    CREATE TRIGGER command_history_ai AFTER INSERT ON command_history BEGIN
      INSERT INTO command_history_fts (rowid, cmd) VALUES (new.id, new.cmd);
    END;
    CREATE TRIGGER command_history_ad AFTER DELETE ON command_history BEGIN
      INSERT INTO command_history_fts (command_history_fts, rowid, cmd) VALUES ('delete', old.id, old.cmd);
    END;
  `,
};
