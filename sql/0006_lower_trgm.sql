-- 0006_lower_trgm: the trigram indexes move to lower(column).
-- The API's case-insensitive filters (ct, nct, sw, nsw, ew, new; eq and neq on text) are
-- written lower(column) LIKE lower(value) instead of column ILIKE value (fcgi/api/sql.c): the
-- same comparison, since ILIKE lowers both sides in a multibyte encoding, but the value is
-- lowered once per statement instead of once per row.  An index on the bare column does not
-- serve lower(column), so each one is rebuilt on the expression; the names stay.
-- New searchable text columns: CREATE INDEX ... USING gin (lower(col) gin_trgm_ops).

DROP INDEX project_name_trgm;
CREATE INDEX project_name_trgm ON project USING gin (lower(name) gin_trgm_ops);
DROP INDEX project_describe_trgm;
CREATE INDEX project_describe_trgm ON project USING gin (lower(describe) gin_trgm_ops);
DROP INDEX images_name_trgm;
CREATE INDEX images_name_trgm ON images USING gin (lower(name) gin_trgm_ops);
DROP INDEX job_template_name_trgm;
CREATE INDEX job_template_name_trgm ON job_template USING gin (lower(name) gin_trgm_ops);
DROP INDEX pipeline_name_trgm;
CREATE INDEX pipeline_name_trgm ON pipeline USING gin (lower(name) gin_trgm_ops);

-- The planner keeps statistics of an index expression apart from the column's.  For a
-- pattern like '%abc%' it counts the matches among the histogram's entries; with the default
-- 100 entries a value in 1% of the rows is missed about one time in three, the estimate drops
-- to 0.01%, and a list page with that filter sorts every match found through the index
-- (2-3 times slower) instead of walking the primary key until the page is full.  500 entries
-- miss it less than once in a hundred, for some 20 us more planning per filtered list.
ALTER INDEX project_name_trgm ALTER COLUMN 1 SET STATISTICS 500;
ALTER INDEX project_describe_trgm ALTER COLUMN 1 SET STATISTICS 500;
ALTER INDEX images_name_trgm ALTER COLUMN 1 SET STATISTICS 500;
ALTER INDEX job_template_name_trgm ALTER COLUMN 1 SET STATISTICS 500;
ALTER INDEX pipeline_name_trgm ALTER COLUMN 1 SET STATISTICS 500;
-- Gather them now, or ct filters are estimated blind until autovacuum next analyzes.
ANALYZE project, images, job_template, pipeline;
