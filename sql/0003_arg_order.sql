-- 0003_arg_order: argument schemas and argument values keep the order their author wrote.
-- jsonb sorts object keys (shorter first), which reordered a template's groups and arguments
-- and so the flags rendered from them; json keeps the text as given.

ALTER TABLE job_template DROP CONSTRAINT job_template_args_check;
ALTER TABLE job_template DROP CONSTRAINT job_template_demo_check;
ALTER TABLE job_template ALTER COLUMN args TYPE json USING args::json,
                         ALTER COLUMN demo TYPE json USING demo::json;
ALTER TABLE job_template ADD CONSTRAINT job_template_args_check CHECK (json_typeof(args) = 'object'),
                         ADD CONSTRAINT job_template_demo_check CHECK (json_typeof(demo) = 'object');

ALTER TABLE task DROP CONSTRAINT task_args_check;
ALTER TABLE task ALTER COLUMN args TYPE json USING args::json;
ALTER TABLE task ADD CONSTRAINT task_args_check CHECK (json_typeof(args) = 'object');
