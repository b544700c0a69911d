/* res.h — the resource tables (one per file) and their shared column helpers. */
#ifndef CUBE_RES_H
#define CUBE_RES_H

#include "api/resource.h"

extern const struct resource res_cluster, res_project, res_project_user, res_users, res_roles,
    res_userinfo, res_token, res_log, res_repository, res_images, res_job_template, res_pipeline,
    res_task, res_workflow, res_runhistory, res_task_instance, res_notification, res_webhook,
    res_training_model, res_dataset;

/* The audit columns every RES_AUDIT table carries, as read-only columns. */
#define RES_AUDIT_COLS                                                                 \
    {.name = "created_by",                                                             \
     .type = COL_REL,                                                                  \
     .flags = COL_LIST | COL_SHOW | COL_SEARCH,                                        \
     .label = "Creator",                                                               \
     .fk = "created_by_fk",                                                            \
     .rel_table = "users",                                                             \
     .rel_display = "username"},                                                       \
        {.name = "changed_by",                                                         \
         .type = COL_REL,                                                              \
         .flags = COL_SHOW,                                                            \
         .label = "Changed by",                                                        \
         .fk = "changed_by_fk",                                                        \
         .rel_table = "users",                                                         \
         .rel_display = "username"},                                                   \
        {.name = "created_on", .type = COL_TIME, .flags = COL_RO, .label = "Created"}, \
    {                                                                                  \
        .name = "changed_on", .type = COL_TIME, .flags = COL_RO, .label = "Changed"    \
    }

#define RES_ID_COL                                                             \
    {                                                                          \
        .name = "id", .type = COL_INT, .flags = COL_PK | COL_RO, .label = "ID" \
    }

/* Row-scope predicates over a project id column (see api/resource.h for {uid}). */
#define MEMBER_OF(col) \
    col " IN (SELECT m.\"project_id\" FROM \"project_user\" m WHERE m.\"user_id\" = {uid})"
#define CREATOR_OF(col)                                                                         \
    col " IN (SELECT m.\"project_id\" FROM \"project_user\" m WHERE m.\"user_id\" = {uid} AND " \
        "m.\"role\" = 'creator')"

/* Lowercase names with inner dashes: cube-studio's rule for users, projects and pipelines. */
#define NAME_REGEX "^[a-z][a-z0-9-]*[a-z0-9]$"

/* res_users.c: hashes a "password" value in place (shared by users and userinfo). */
enum err res_hash_password_hook(struct ctx *cx, struct write *w);

/* res_run.c: routes of pipelines and tasks that start runs. */
enum err res_pipeline_run(struct ctx *cx, const struct resource *res, int64_t id);
enum err res_pipeline_backfill(struct ctx *cx, const struct resource *res, int64_t id);
enum err res_task_run(struct ctx *cx, const struct resource *res, int64_t id);
enum err res_task_suggestion(struct ctx *cx, const struct resource *res, int64_t id);
/* res_run.c: this worker's local executor (opened on first use; NULL, logged, if it cannot be). */
struct executor *res_local_executor(void);

#endif
