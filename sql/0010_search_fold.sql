-- 0010_search_fold: project names get a folded copy for the API's case-insensitive filters, and
-- an index that lets a filtered list page find its rows without reading the table.
--
-- A ct/sw/ew/eq filter on a name is lower(name) LIKE lower(value) (fcgi/api/sql.c).  A list page
-- of 20 with a filter matching 1% of 100,000 projects walks the primary key backwards through
-- some 2,300 rows until 20 match, and lowering every one of those names was a fifth of the
-- walk.  name_lc is lower(name), kept by the database: the filter compares it as it is.
ALTER TABLE project ADD COLUMN name_lc text GENERATED ALWAYS AS (lower(name)) STORED;

-- The trigram index moves to the copy (the same values as lower(name), without evaluating the
-- expression on every insert); its name stays.
DROP INDEX project_name_trgm;
CREATE INDEX project_name_trgm ON project USING gin (name_lc gin_trgm_ops);

-- The walk itself, without the table: a filtered page first picks the ids of its rows from this
-- index (an index-only scan: the id to walk in order, name_lc to filter on, type for a member's
-- row scope), then reads those 20 rows (RES_IDS_FIRST in fcgi/res/res_project.c).  The walk
-- reads index entries of some 40 bytes instead of table rows, and no longer decodes a row to
-- reach its last column.
CREATE INDEX project_search ON project (id) INCLUDE (name_lc, type);

-- What sql/0006 set on the expression index now belongs to the column: 500 histogram entries,
-- so a 1%-frequent pattern is not missed and the planner walks the index instead of sorting
-- every match.
ALTER TABLE project ALTER COLUMN name_lc SET STATISTICS 500;
ANALYZE project;
