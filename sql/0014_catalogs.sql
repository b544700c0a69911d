-- 0014_catalogs: the model registry and the dataset catalog (cube-studio's
-- training_model_modelview and dataset_modelview; fcgi/res/res_catalog.c).
--
-- Both are records of a project's things, not the things: a model version or a dataset points
-- at where its files live (a path on storage the tasks share, or an address), and Cube neither
-- copies nor serves them.  A name may have many versions; a version is made once per project.
CREATE TABLE training_model (
    id            bigserial PRIMARY KEY,
    project_id    bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    name          varchar(100) NOT NULL,
    version       varchar(100) NOT NULL,
    describe      varchar(1000) NOT NULL DEFAULT '',
    framework     varchar(100) NOT NULL DEFAULT '',
    path          varchar(2000) NOT NULL DEFAULT '',
    download_url  varchar(2000) NOT NULL DEFAULT '',
    metrics       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metrics) = 'object'),
    created_on    timestamptz NOT NULL DEFAULT now(),
    changed_on    timestamptz NOT NULL DEFAULT now(),
    created_by_fk bigint REFERENCES users (id) ON DELETE SET NULL,
    changed_by_fk bigint REFERENCES users (id) ON DELETE SET NULL,
    UNIQUE (project_id, name, version)
);

CREATE TABLE dataset (
    id            bigserial PRIMARY KEY,
    project_id    bigint NOT NULL REFERENCES project (id) ON DELETE CASCADE,
    name          varchar(100) NOT NULL,
    version       varchar(100) NOT NULL DEFAULT 'latest',
    describe      varchar(1000) NOT NULL DEFAULT '',
    source        varchar(200) NOT NULL DEFAULT '',
    file_type     varchar(50) NOT NULL DEFAULT '',
    path          varchar(2000) NOT NULL DEFAULT '',
    download_url  varchar(2000) NOT NULL DEFAULT '',
    size_bytes    bigint CHECK (size_bytes >= 0),
    entries       bigint CHECK (entries >= 0),
    features      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(features) = 'object'),
    created_on    timestamptz NOT NULL DEFAULT now(),
    changed_on    timestamptz NOT NULL DEFAULT now(),
    created_by_fk bigint REFERENCES users (id) ON DELETE SET NULL,
    changed_by_fk bigint REFERENCES users (id) ON DELETE SET NULL,
    UNIQUE (project_id, name, version)
);
