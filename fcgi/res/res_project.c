/*
 * res_project.c — projects (cube-studio's "project groups") and their members.
 *
 * Tenancy lives here: a non-admin sees the org projects they are a member of
 * (template categories are visible to all), edits those where they are a
 * creator, and manages members only there.  The creator of a project becomes
 * its first member in the same statement that inserts it.
 */
#include "res/res.h"
#include "core/common.h"

static const char *const project_types[] = {"org", "job-template", NULL};
static const char *const member_roles[] = {"dev", "ops", "creator", NULL};

static const struct column project_cols[] = {
    RES_ID_COL,
    {.name = "name",
     .type = COL_TEXT,
     .flags = COL_RW | COL_REQUIRED | COL_UNIQUE,
     .label = "Name",
     .description = "unique project name",
     .max_len = 50,
     .min_len = 1,
     .fold = "name_lc"},
    {.name = "describe",
     .type = COL_TEXT,
     .flags = COL_RW | COL_TEXTAREA,
     .label = "Description",
     .max_len = 500},
    {.name = "type",
     .type = COL_ENUM,
     .flags = COL_RW,
     .label = "Type",
     .description = "org: a team project; job-template: a template category",
     .choices = project_types,
     .def = "org"},
    {.name = "expand",
     .type = COL_JSON,
     .flags = COL_LIST | COL_SHOW | COL_ADD | COL_EDIT | COL_SEARCH,
     .label = "Settings",
     .description = "JSON object: engine, cluster, org (resource group), volume_mount, "
                    "node_selector",
     .def = "{}"},
    /* Shown on one project, not per list row: it costs a join for every row of a page. */
    {.name = "members",
     .type = COL_TEXT,
     .flags = COL_SHOW,
     .label = "Members",
     .sql = "SELECT coalesce(string_agg(u.\"username\" || '(' || m.\"role\" || ')', ',' ORDER BY "
            "m.\"id\"), '') FROM \"project_user\" m JOIN \"users\" u ON u.\"id\" = m.\"user_id\" "
            "WHERE m.\"project_id\" = t.\"id\""},
    RES_AUDIT_COLS,
};

const struct resource res_project = {
    .view = "project_modelview",
    .table = "project",
    .label = "Project",
    .cols = project_cols,
    .ncols = ARRAY_LEN(project_cols),
    .ops = OP_CRUD | OP_CSV_IN,
    .admin_ops = OP_DELETE,
    /* project_search covers the id, the folded name and the type (sql/0010_search_fold.sql). */
    .flags = RES_AUDIT | RES_IDS_FIRST,
    .scope = "t.\"type\" <> 'org' OR " MEMBER_OF("t.\"id\""),
    .edit_scope = CREATOR_OF("t.\"id\""),
    /* Non-admins create team projects only; template categories are the admins'. */
    .add_check = "coalesce(v.\"type\", 'org') = 'org'",
    .post_add_sql = "m AS (INSERT INTO \"project_user\" (\"project_id\", \"user_id\", \"role\", "
                    "\"created_by_fk\", \"changed_by_fk\") SELECT w.\"id\", {uid}, 'creator', "
                    "{uid}, {uid} FROM w)",
    .order_col = "id",
    .order_dir = "desc",
    .page_size = 100,
    .menu = {"project", "Project space", "Projects", "fa-users"},
};

static const struct column member_cols[] = {
    RES_ID_COL,
    {.name = "project",
     .type = COL_REL,
     .flags = COL_LIST | COL_SHOW | COL_ADD | COL_SEARCH | COL_ORDER | COL_REQUIRED,
     .label = "Project",
     .fk = "project_id",
     .rel_table = "project",
     .rel_display = "name"},
    {.name = "user",
     .type = COL_REL,
     .flags = COL_LIST | COL_SHOW | COL_ADD | COL_SEARCH | COL_ORDER | COL_REQUIRED,
     .label = "User",
     .fk = "user_id",
     .rel_table = "users",
     .rel_display = "username"},
    {.name = "role",
     .type = COL_ENUM,
     .flags = COL_RW,
     .label = "Role",
     .description = "creator: manages the project and its members; dev, ops: members",
     .choices = member_roles,
     .def = "dev"},
    RES_AUDIT_COLS,
};

const struct resource res_project_user = {
    .view = "project_user_modelview",
    .table = "project_user",
    .label = "Project member",
    .cols = member_cols,
    .ncols = ARRAY_LEN(member_cols),
    .ops = OP_CRUD | OP_CSV_IN,
    .flags = RES_AUDIT,
    .scope = MEMBER_OF("t.\"project_id\""),
    .edit_scope = CREATOR_OF("t.\"project_id\""),
    .delete_scope = CREATOR_OF("t.\"project_id\""),
    .add_check = CREATOR_OF("v.\"project_id\""),
    .order_col = "id",
    .order_dir = "desc",
    .page_size = 100,
    .menu = {"project", "Project space", "Project members", "fa-user-plus"},
};
