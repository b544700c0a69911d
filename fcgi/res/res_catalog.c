/*
 * res_catalog.c — the model registry (training_model_modelview) and the dataset catalog
 * (dataset_modelview): what a project has trained and what it trains on, as records.
 *
 * A row points at where the files live (a path on storage the tasks share, or an address) and
 * says what they are; Cube does not copy or serve them.  Members of the project see and add
 * rows; a row is changed or removed by whoever made it (while a member), or by the project's
 * creators.
 * cube-studio's deploy-to-inference-service and dataset preview are not here: Cube has no
 * inference services.
 */
#include "res/res.h"
#include "core/common.h"

/* The row's own maker while still a member of its project, or a creator of the project. */
#define OWNER_OR_CREATOR                                                                  \
    "(t.\"created_by_fk\" = {uid} AND " MEMBER_OF("t.\"project_id\"") ") OR " CREATOR_OF( \
        "t.\"project_id\"")

/* Who may do what, the same for both catalogs: members see and add, the maker or the project's
 * creators change; newest first. */
#define CATALOG_POLICY                                                                   \
    .ops = OP_CRUD, .flags = RES_AUDIT, .scope = MEMBER_OF("t.\"project_id\""),          \
    .edit_scope = OWNER_OR_CREATOR, .delete_scope = OWNER_OR_CREATOR,                    \
    .add_check = MEMBER_OF("v.\"project_id\""),                                          \
    .add_check_msg = "project: you are not a member of this project", .order_col = "id", \
    .order_dir = "desc", .page_size = 100

#define CATALOG_PROJECT_COL                                                                   \
    {                                                                                         \
        .name = "project", .type = COL_REL,                                                   \
        .flags = COL_LIST | COL_SHOW | COL_ADD | COL_SEARCH | COL_ORDER | COL_REQUIRED,       \
        .label = "Project", .fk = "project_id", .rel_table = "project", .rel_display = "name" \
    }
#define CATALOG_NAME_COL                                                                    \
    {                                                                                       \
        .name = "name", .type = COL_TEXT, .flags = COL_RW | COL_REQUIRED, .label = "Name",  \
        .description = "lowercase letters, digits and inner dashes; its versions share it", \
        .max_len = 100, .min_len = 2, .regex = NAME_REGEX                                   \
    }
#define CATALOG_DESCRIBE_COL                                                           \
    {                                                                                  \
        .name = "describe", .type = COL_TEXT, .flags = COL_RW, .label = "Description", \
        .max_len = 1000                                                                \
    }
/* A version: letters, digits, dots, dashes and underscores, starting with a letter or digit. */
#define CATALOG_VERSION_RE "^[A-Za-z0-9][A-Za-z0-9._-]*$"
/* Paths and addresses: no spaces or control characters, so one can be pasted into a shell. */
#define CATALOG_PATH_COLS                                                                       \
    {.name = "path",                                                                            \
     .type = COL_TEXT,                                                                          \
     .flags = COL_RW,                                                                           \
     .label = "Path",                                                                           \
     .description = "where the files are, on storage the tasks share",                          \
     .max_len = 2000,                                                                           \
     .regex = "^[^[:space:][:cntrl:]]*$"},                                                      \
    {                                                                                           \
        .name = "download_url", .type = COL_TEXT, .flags = COL_SHOW | COL_ADD | COL_EDIT,       \
        .label = "Download address",                                                            \
        .description = "http(s) address of the files, if they can be fetched", .max_len = 2000, \
        .regex = "^(https?://[^[:space:][:cntrl:]]+)?$"                                         \
    }

static const struct column model_cols[] = {
    RES_ID_COL,
    CATALOG_PROJECT_COL,
    CATALOG_NAME_COL,
    {.name = "version",
     .type = COL_TEXT,
     .flags = COL_RW | COL_REQUIRED,
     .label = "Version",
     .description = "v1, 2026.12.01, ...; one row per version",
     .max_len = 100,
     .regex = CATALOG_VERSION_RE},
    CATALOG_DESCRIBE_COL,
    {.name = "framework",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Framework",
     .description = "pytorch, tensorflow, onnx, sklearn, ...",
     .max_len = 100},
    CATALOG_PATH_COLS,
    {.name = "metrics",
     .type = COL_JSON,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Metrics",
     .description = "{\"accuracy\": 0.93, ...}",
     .def = "{}"},
    RES_AUDIT_COLS,
};

const struct resource res_training_model = {
    .view = "training_model_modelview",
    .table = "training_model",
    .label = "Model",
    .cols = model_cols,
    .ncols = ARRAY_LEN(model_cols),
    CATALOG_POLICY,
    .menu = {"serving", "Serving", "Models", "fa-cube"},
};

static const struct column dataset_cols[] = {
    RES_ID_COL,
    CATALOG_PROJECT_COL,
    CATALOG_NAME_COL,
    {.name = "version",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Version",
     .description = "latest, v2, 2026-12, ...; one row per version",
     .max_len = 100,
     .regex = CATALOG_VERSION_RE,
     .def = "latest"},
    CATALOG_DESCRIBE_COL,
    {.name = "source",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Source",
     .description = "where the data comes from",
     .max_len = 200},
    {.name = "file_type",
     .type = COL_TEXT,
     .flags = COL_RW,
     .label = "Format",
     .description = "csv, parquet, jsonl, images, ...",
     .max_len = 50},
    CATALOG_PATH_COLS,
    {.name = "size_bytes",
     .type = COL_INT,
     .flags = COL_RW | COL_NULLABLE,
     .label = "Size (bytes)"},
    {.name = "entries",
     .type = COL_INT,
     .flags = COL_RW | COL_NULLABLE,
     .label = "Entries",
     .description = "rows, files or samples"},
    {.name = "features",
     .type = COL_JSON,
     .flags = COL_SHOW | COL_ADD | COL_EDIT,
     .label = "Features",
     .description = "{\"column\": \"type or meaning\", ...}",
     .def = "{}"},
    RES_AUDIT_COLS,
};

const struct resource res_dataset = {
    .view = "dataset_modelview",
    .table = "dataset",
    .label = "Dataset",
    .cols = dataset_cols,
    .ncols = ARRAY_LEN(dataset_cols),
    CATALOG_POLICY,
    .menu = {"data", "Data", "Datasets", "fa-database"},
};
