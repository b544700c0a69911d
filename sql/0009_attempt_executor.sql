-- Where each attempt ran: 'local' (the embedded executor) or 'cluster:<id>' (a remote
-- engine).  The dispatcher writes it before it submits, so the watcher and the log API ask
-- the engine that has the attempt even if the project has moved to another cluster since.
ALTER TABLE task_attempt ADD COLUMN executor text NOT NULL DEFAULT 'local';
